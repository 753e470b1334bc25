package kernel

import "github.com/attn-go/attn/internal/parallel"

// Few rows against a wide B (a short prompt through a Linear layer): with
// at most defaultDirectAMaxN rows, each B panel serves only a few
// micro-tiles, so packing B costs about as much as the product. Gemm then
// reads B in place instead, in one of two ways (docs/gemm.md, "The
// algorithm (BLIS's five loops)"):
//
//   - A·B runs the blocked driver with directB: the micro-kernel reads B's
//     rows directly (bStep = ldb) and only a partial last panel is packed,
//     for its zero padding (gemmBlocked, readsWideB);
//   - A·Bᵀ runs as Cᵀ = B·Aᵀ into a scratch (gemmSwapped): B becomes the
//     A operand of a product with few columns, which is read in place.
//
// Either way each element is summed over k in the same order and depth
// blocks as on the packed path, so the result is the same bit for bit.
//
// Shape legend: m rows of A and C, n columns of B and C (the wide side),
// k the depth; mr×nr the micro-kernel's tile.

// wideB reports whether a product has few rows (at most
// defaultDirectAMaxN) against a B at least 16 times wider: there Gemm
// reads B in place, directly (A·B) or as the A operand of the swapped
// product (A·Bᵀ, see gemmSwapped). Below 16 times the gain is within the
// noise (docs/gemm.md, "Optimisation log: predicted and measured").
func wideB(m, n int) bool { return m <= defaultDirectAMaxN && n >= 16*m }

// swapNT and directWideB enable the two in-place paths for wide B;
// BenchmarkGemmWideB clears them to measure the packed path.
var swapNT, directWideB = true, true

// swapsWideB reports whether a parallel product takes gemmSwapped: A·Bᵀ
// with alpha 1 and beta 0 (the final transpose overwrites C), at least one
// micro-tile of rows and a wide B, on an assembly micro-kernel.
func swapsWideB(spec *gemmSpec, transA, transB bool, m, n int, alpha, beta float32) bool {
	return swapNT && transB && !transA && alpha == 1 && beta == 0 && spec.id != kernGo &&
		m >= spec.mr && wideB(m, n)
}

// readsWideB reports whether a parallel A·B product reads its wide B in
// place (gemmWork.directB).
func readsWideB(m, n int) bool { return wideB(m, n) && directWideB }

var swapScratch = parallel.NewCache(func() *[]float32 { return new([]float32) })

// gemmSwapped computes C[m,n] = A[m,k]·B[n,k]ᵀ for few rows m and a wide B
// (a weight matrix) as Cᵀ = B·Aᵀ into a scratch [n,m], then transposes it
// into C. The swapped product has at most directAMaxN columns, so its A
// operand, B here, is read in place: the big matrix is never packed (at
// m = 128 against a 2304×768 B on two threads, the packed path runs at
// 207–253 GFLOP/s and the swapped one at 298–317), only the small Aᵀ is. The final transpose touches m·n
// elements once, with the 8×8 register transposes.
func gemmSwapped(spec *gemmSpec, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	sp := swapScratch.Get()
	t := grow(*sp, n*m)
	*sp = t
	gemmBlocked(spec, false, false, true, n, m, k, 1, b, ldb, a, lda, 0, t, m)
	transposeInto(c, ldc, t, m, m, n)
	if cap(t) > swapKeep {
		*sp = nil // a vocabulary-sized product: do not hold its scratch
	}
	swapScratch.Put(sp)
}

// swapKeep is the largest scratch (in elements, 4 MiB) gemmSwapped keeps
// for the next call: a 2304-wide projection of 128 rows is 295 Ki elements.
const swapKeep = 1 << 20

// transposeInto sets c[i*ldc+j] = t[j*ldt+i] for i < m, j < n.
func transposeInto(c []float32, ldc int, t []float32, ldt, m, n int) {
	m8, n8 := m&^7, n&^7
	if m8 > 0 && n8 > 0 && transRect(c, ldc, t, ldt, m8, n8) {
		// Row tail i ≥ m8 and column tail j ≥ n8 remain.
		transTail(c, t, ldt, 0, m8, n8, n, ldc)
		transTail(c, t, ldt, m8, m, 0, n, ldc)
		return
	}
	transTail(c, t, ldt, 0, m, 0, n, ldc)
}
