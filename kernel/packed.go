package kernel

import "fmt"

// PackedB is the right operand op(B) [k, n] of many products, packed once
// into the micro-panels the blocked GEMM reads: a weight matrix at
// inference. GemmPacked then skips the packing of B that Gemm does on
// every call, and the micro-kernel streams B from contiguous memory
// whatever the stored layout was ([in, out] Conv1D weights, whose rows may
// be thousands of floats apart, included). A one-row product (decoding)
// reads the panels in order too.
//
// Layout, for the variant's micro-tile width nr and depth step kc: depth
// block pb holds rows [pb·kc, pb·kc+kcb) (kcb = kc except in the last
// block), as ceil(n/nr) panels of kcb×nr, element (p, c) of panel q at
// q·kcb·nr + p·nr + c; columns past n are zero.
//
// A PackedB is read-only once built: any number of goroutines may use it
// at once. It is laid out for the GEMM variant current when it was packed,
// and its products run on that variant (the reference variant packs for
// purego, its blocked twin).
type PackedB struct {
	spec   *gemmSpec
	k, n   int
	kcStep int
	panels int
	data   []float32
}

// BPart is one block of columns of a PackedB: op(B) [k, N] stored
// row-major in B with leading dimension Ld, as [k, N] or, with Trans, as
// [N, k] (nn.Linear's weight [out, in]).
type BPart struct {
	Trans bool
	N     int
	B     []float32
	Ld    int
}

// PackB packs the matrix [k, n] whose columns are the parts' columns side
// by side (n = Σ N): one part for one weight matrix, several to fuse
// projections that read the same input (q, k and v) into one product. It
// panics when a part cannot hold its matrix.
func PackB(k int, parts ...BPart) *PackedB {
	spec := gemmCurrent.Load().spec
	if spec == nil {
		spec = specGo
	}
	return packB(spec, k, parts)
}

func packB(spec *gemmSpec, k int, parts []BPart) *PackedB {
	if k < 1 || len(parts) == 0 {
		panic(fmt.Sprintf("kernel: PackB of depth %d with %d parts", k, len(parts)))
	}
	n := 0
	for i, pt := range parts {
		if pt.N < 1 {
			panic(fmt.Sprintf("kernel: PackB part %d has %d columns", i, pt.N))
		}
		checkMat(fmt.Sprintf("PackB part %d", i), pt.B, rowsCols(pt.Trans, k, pt.N), pt.Ld)
		n += pt.N
	}
	nr := spec.nr
	p := &PackedB{spec: spec, k: k, n: n, kcStep: blockDepth(k, spec.kc), panels: (n + nr - 1) / nr}
	p.data = make([]float32, p.panels*nr*k)
	for pc := 0; pc < k; pc += p.kcStep {
		kc := min(p.kcStep, k-pc)
		blk := p.data[pc*p.panels*nr:]
		j0 := 0 // first column of the current part
		for _, pt := range parts {
			for j := j0; j < j0+pt.N; {
				// The run of this part's columns inside panel q.
				q, c := j/nr, j%nr
				cols := min(nr-c, j0+pt.N-j)
				d := blk[q*kc*nr+c:]
				packPanel(d, nr, pt.Trans, pt.B, pt.Ld, pc, kc, j-j0, cols)
				j += cols
			}
			j0 += pt.N
		}
	}
	return p
}

// K is the number of rows of op(B), the products' depth.
func (p *PackedB) K() int { return p.k }

// N is the number of columns of op(B).
func (p *PackedB) N() int { return p.n }

// Bytes is the size of the packed data.
func (p *PackedB) Bytes() int64 { return 4 * int64(len(p.data)) }

// block returns the depth and the panels of depth block starting at row pc.
func (p *PackedB) block(pc int) (kc int, panels []float32) {
	kc = min(p.kcStep, p.k-pc)
	nr := p.spec.nr
	return kc, p.data[pc*p.panels*nr : (pc+kc)*p.panels*nr]
}

// GemmPacked computes C = alpha·A·B + beta·C for A [m, k] (leading
// dimension lda), a packed B [k, n] and C [m, n] (ldc). As with Gemm, when
// beta is 0 C is overwritten and its contents ignored; the result is the
// one Gemm computes on the same variant to within the order of the depth
// sums. It splits large products over internal/parallel's workers and does
// not allocate once warmed up.
func GemmPacked(m int, alpha float32, a []float32, lda int, b *PackedB, beta float32, c []float32, ldc int) {
	checkMat("A", a, [2]int{m, b.k}, lda)
	checkMat("C", c, [2]int{m, b.n}, ldc)
	gemmPacked(b, m, alpha, a, lda, beta, c, ldc)
}

// LinearPacked computes y = x·W + bias for x [m, k] (ldx), W packed
// [k, n] and bias [n] or nil; y [m, n] (ldy) is overwritten.
func LinearPacked(y []float32, ldy int, x []float32, ldx int, w *PackedB, bias []float32, m int) {
	GemmPacked(m, 1, x, ldx, w, 0, y, ldy)
	addBias(y, ldy, bias, m, w.n)
}

// addBias adds bias [n] (if not nil) to each of the m rows of y.
func addBias(y []float32, ldy int, bias []float32, m, n int) {
	if bias == nil {
		return
	}
	if len(bias) < n {
		panic(fmt.Sprintf("kernel: bias has %d elements, want %d", len(bias), n))
	}
	for i := 0; i < m; i++ {
		Axpy(1, bias[:n], y[i*ldy:i*ldy+n])
	}
}

// packPanel writes op(B)[pc+p, j+c] to d[p*nr+c] for p < kc, c < cols
// (cols ≤ nr), where op(B) is b [k, n] (ldb) or, with trans, b [n, k]. The
// columns [cols, nr) of d are not touched.
func packPanel(d []float32, nr int, trans bool, b []float32, ldb, pc, kc, j, cols int) {
	if trans {
		// op(B)[p,j] = b[j*ldb+p]: each column is a contiguous run of p.
		base := j*ldb + pc
		if cols == nr && packTrans(d, b[base:], ldb, kc, nr) {
			return
		}
		if cols == 16 && nr == 16 {
			interleave16(d, b[base:], ldb, kc)
			return
		}
		for p := 0; p < kc; p++ {
			dp := d[p*nr : p*nr+cols]
			for c := range dp {
				dp[c] = b[base+c*ldb+p]
			}
		}
		return
	}
	if cols == nr && packCopy(d, b[pc*ldb+j:], ldb, kc, nr) {
		return
	}
	for p := 0; p < kc; p++ {
		copy(d[p*nr:p*nr+cols], b[(pc+p)*ldb+j:][:cols])
	}
}
