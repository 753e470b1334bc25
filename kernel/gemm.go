package kernel

import (
	"fmt"
	"sync/atomic"
)

// Gemm computes C = alpha·op(A)·op(B) + beta·C where op(X) is X or Xᵀ.
//
// Shapes (row-major): op(A) is [m,k], op(B) is [k,n], C is [m,n]. A is stored
// [m,k] with leading dimension lda when transA is false and [k,m] when it is
// true; likewise B is [k,n] or [n,k] with ldb. When beta is 0, C is
// overwritten and its previous contents (even NaN) are ignored. When k is 0
// or alpha is 0, the blocked variants do not read A or B (C = beta·C), as in
// BLAS; GemmRef computes 0·Σ, which differs only for non-finite A or B.
//
// Gemm runs the variant chosen by SetGemmVariant (by default the fastest this
// CPU supports) and splits large products over internal/parallel's workers;
// see docs/gemm.md for the blocking. It does not allocate once warmed up.
func Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if s := gemmCurrent.Load().spec; s != nil {
		gemmBlocked(s, false, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	GemmRef(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// GemmSerial is Gemm computed entirely on the calling goroutine, for callers
// that are themselves parallel tasks (the fused attention kernel calls it on
// 64×64 tiles). On small operands it reads A, and B when not transposed, in
// place instead of packing them.
func GemmSerial(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if s := gemmCurrent.Load().spec; s != nil {
		gemmBlocked(s, true, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	GemmRef(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func checkGemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	checkMat("A", a, rowsCols(transA, m, k), lda)
	checkMat("B", b, rowsCols(transB, k, n), ldb)
	checkMat("C", c, [2]int{m, n}, ldc)
}

func rowsCols(trans bool, r, c int) [2]int {
	if trans {
		return [2]int{c, r}
	}
	return [2]int{r, c}
}

// checkMat panics when x cannot hold a [rows,cols] matrix with leading
// dimension ld.
func checkMat(name string, x []float32, rc [2]int, ld int) {
	rows, cols := rc[0], rc[1]
	if rows < 0 || cols < 0 || ld < cols || ld < 1 {
		panic(fmt.Sprintf("kernel: bad %s dims rows=%d cols=%d ld=%d", name, rows, cols, ld))
	}
	if rows == 0 || cols == 0 {
		return
	}
	if need := (rows-1)*ld + cols; len(x) < need {
		panic(fmt.Sprintf("kernel: %s has %d elements, [%d,%d] with ld %d needs %d", name, len(x), rows, cols, ld, need))
	}
}

// GemmRef is the reference twin of Gemm: a direct triple loop. For each C
// element the k products are summed by the pure-Go Dot (A·Bᵀ) or in the same
// lane order.
func GemmRef(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	at := func(i, p int) float32 {
		if transA {
			return a[p*lda+i]
		}
		return a[i*lda+p]
	}
	bt := func(p, j int) float32 {
		if transB {
			return b[j*ldb+p]
		}
		return b[p*ldb+j]
	}
	for i := 0; i < m; i++ {
		crow := c[i*ldc : i*ldc+n]
		for j := range crow {
			var s float32
			if !transA && transB {
				s = dotGo(a[i*lda:i*lda+k], b[j*ldb:j*ldb+k])
			} else {
				s = dotStrided(k, func(p int) float32 { return at(i, p) * bt(p, j) })
			}
			if beta == 0 {
				crow[j] = alpha * s
			} else {
				crow[j] = alpha*s + beta*crow[j]
			}
		}
	}
}

// dotStrided sums f(0..k-1) with the same lane structure as dotGo, so every
// GemmRef form rounds the same way.
func dotStrided(k int, f func(p int) float32) float32 {
	var acc [dotLanes]float32
	p := 0
	for ; p+dotLanes <= k; p += dotLanes {
		for l := range acc {
			acc[l] += f(p + l)
		}
	}
	for l := 0; p < k; p, l = p+1, l+1 {
		acc[l] += f(p)
	}
	return sumLanes(&acc)
}

// GemmVariant is one implementation of Gemm. Fn has Gemm's signature and
// contract; it may be called only when Available.
type GemmVariant struct {
	Name      string
	Fn        func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
	Available bool
}

type gemmImpl struct {
	name string
	spec *gemmSpec // nil: GemmRef
}

var gemmImpls = []*gemmImpl{
	{name: "ref"},
	{name: "purego", spec: specGo},
	{name: "avx2", spec: specAVX2},
	{name: "avx512", spec: specAVX512},
}

var gemmCurrent atomic.Pointer[gemmImpl]

func init() { gemmCurrent.Store(bestGemm()) }

func bestGemm() *gemmImpl {
	best := gemmImpls[1]
	for _, g := range gemmImpls {
		if g.spec != nil && g.spec.available() {
			best = g
		}
	}
	return best
}

// GemmVariants lists every Gemm implementation, fastest last: "ref"
// (GemmRef), "purego" (the blocked algorithm with a pure-Go micro-kernel),
// "avx2" (AVX2+FMA assembly) and "avx512" (AVX-512F assembly). Available
// reports whether this CPU and build can run each.
func GemmVariants() []GemmVariant {
	out := make([]GemmVariant, len(gemmImpls))
	for i, g := range gemmImpls {
		g := g
		out[i] = GemmVariant{Name: g.name, Available: g.spec == nil || g.spec.available()}
		if g.spec == nil {
			out[i].Fn = GemmRef
			continue
		}
		out[i].Fn = func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			if !g.spec.available() {
				panic("kernel: Gemm variant " + g.name + " is not available on this CPU or build")
			}
			checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
			gemmBlocked(g.spec, false, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		}
	}
	return out
}

// SetGemmVariant makes Gemm and GemmSerial use the named variant (see
// GemmVariants); "" or "auto" restores the default. It is meant for
// benchmarks and the CLI's --kernel, not for concurrent use with Gemm.
func SetGemmVariant(name string) error {
	if name == "" || name == "auto" {
		gemmCurrent.Store(bestGemm())
		return nil
	}
	for _, g := range gemmImpls {
		if g.name != name {
			continue
		}
		if g.spec != nil && !g.spec.available() {
			return fmt.Errorf("kernel: Gemm variant %q is not available on this CPU or build", name)
		}
		gemmCurrent.Store(g)
		return nil
	}
	return fmt.Errorf("kernel: unknown Gemm variant %q (have ref, purego, avx2, avx512)", name)
}

// GemmVariantName is the name of the variant Gemm currently runs.
func GemmVariantName() string { return gemmCurrent.Load().name }

// Linear computes the fully connected layer y = x·Wᵀ + bias.
//
// Shapes: x [rows,in] (leading dimension ldx), W [out,in] (ldw, PyTorch's
// nn.Linear layout: one row per output feature), bias [out] or nil, y
// [rows,out] (ldy). y is overwritten. The sizes come in the order every
// layer of attn uses: rows, in, out.
func Linear(y []float32, ldy int, x []float32, ldx int, w []float32, ldw int, bias []float32, rows, in, out int) {
	Gemm(false, true, rows, out, in, 1, x, ldx, w, ldw, 0, y, ldy)
	addBias(y, ldy, bias, rows, out)
}
