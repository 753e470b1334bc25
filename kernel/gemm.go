package kernel

import "fmt"

// Gemm computes C = alpha·op(A)·op(B) + beta·C where op(X) is X or Xᵀ.
//
// Shapes (row-major): op(A) is [m,k], op(B) is [k,n], C is [m,n]. A is stored
// [m,k] with leading dimension lda when transA is false and [k,m] when it is
// true; likewise B is [k,n] or [n,k] with ldb. When beta is 0, C is
// overwritten and its previous contents (even NaN) are ignored.
func Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkMat("A", a, rowsCols(transA, m, k), lda)
	checkMat("B", b, rowsCols(transB, k, n), ldb)
	checkMat("C", c, [2]int{m, n}, ldc)
	GemmRef(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
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
// element the k products are summed by Dot (A·Bᵀ) or in k order.
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
				s = Dot(a[i*lda:i*lda+k], b[j*ldb:j*ldb+k])
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

// dotStrided sums f(0..k-1) with the same lane structure as Dot, so every
// Gemm form rounds the same way.
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

// Linear computes the fully connected layer y = x·Wᵀ + bias.
//
// Shapes: x [m,k] (leading dimension ldx), W [n,k] (ldw, PyTorch's
// nn.Linear layout: one row per output feature), bias [n] or nil, y [m,n]
// (ldy). y is overwritten.
func Linear(y []float32, ldy int, x []float32, ldx int, w []float32, ldw int, bias []float32, m, n, k int) {
	Gemm(false, true, m, n, k, 1, x, ldx, w, ldw, 0, y, ldy)
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
