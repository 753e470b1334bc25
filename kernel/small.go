package kernel

// The small-m path of Gemm and GemmSerial (m < mr rows of C). Decoding
// attention is the case it is built for: one query row against a K/V cache,
// so per key tile the scores are one row times Kᵀ (rowsDot) and the output
// accumulates one row times V (rowsAxpy). docs/gemm.md has the measurements.

// smallGemm computes columns [j0, j1) of C = alpha·A·op(B) + beta·C for a
// row-major A [m,k] (leading dimension lda), one row of C at a time.
func smallGemm(lv int, transB bool, m, k, j0, j1 int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		ai := a[i*lda : i*lda+k]
		ci := c[i*ldc+j0 : i*ldc+j1]
		if transB {
			rowsDot(lv, ai, b[j0*ldb:], ldb, ci, alpha, beta)
		} else {
			rowsAxpy(lv, ai, b[j0:], ldb, ci, alpha, beta)
		}
	}
}

// rowsDot sets c[j] = alpha·dot(a, b[j*ldb:][:k]) + beta·c[j] for
// j < len(c), k = len(a) ≥ 1; c is not read when beta is 0. With a vector
// level, blocks of 8 columns run in rowsDotAVX2 (eight B rows at once, one
// shared horizontal reduction per eight dots; AVX-512 machines run it too)
// and the last len(c)%8 columns are single dots; rowsDotGo is the twin.
func rowsDot(lv int, a, b []float32, ldb int, c []float32, alpha, beta float32) {
	k, n := len(a), len(c)
	j := 0
	if lv != levelGo && n >= 8 {
		nb := n / 8
		_ = b[(nb*8-1)*ldb+k-1] // the kernel's last read
		rowsDotAsm(&a[0], &b[0], ldb, k, nb, &c[0], alpha, beta)
		j = nb * 8
	}
	for ; j < n; j++ {
		s := dotLevel(lv, a, b[j*ldb:][:k])
		if beta == 0 {
			c[j] = alpha * s
		} else {
			c[j] = alpha*s + beta*c[j]
		}
	}
}

// rowsDotGo is the pure-Go twin of rowsDot.
func rowsDotGo(a, b []float32, ldb int, c []float32, alpha, beta float32) {
	rowsDot(levelGo, a, b, ldb, c, alpha, beta)
}

// rowsAxpyBlock is the number of C columns rowsAxpy keeps in registers
// (8 ymm) while it runs over all k rows of B.
const rowsAxpyBlock = 64

// rowsAxpy sets c[j] = alpha·Σ_p a[p]·b[p*ldb+j] + beta·c[j] for
// j < len(c), p < k = len(a) ≥ 1; c is not read when beta is 0. With a
// vector level the first len(c)&^7 columns run in rowsAxpyAVX2 (64 columns
// of C held in registers over the whole p loop, so each B element is loaded
// once and C is read and written once); rowsAxpyGo does the rest and is the
// twin.
func rowsAxpy(lv int, a, b []float32, ldb int, c []float32, alpha, beta float32) {
	k, n := len(a), len(c)
	j := 0
	if lv != levelGo && n >= 8 {
		nv := n / 8
		_ = b[(k-1)*ldb+nv*8-1] // the kernel's last read
		rowsAxpyAsm(&a[0], &b[0], ldb, k, nv, &c[0], alpha, beta)
		j = nv * 8
	}
	if j < n {
		rowsAxpyGo(a, b[j:], ldb, c[j:], alpha, beta)
	}
}

// rowsAxpyGo is the pure-Go twin of rowsAxpy: blocks of rowsAxpyBlock
// columns accumulated in a local array over all of a, then stored.
func rowsAxpyGo(a, b []float32, ldb int, c []float32, alpha, beta float32) {
	n := len(c)
	for j0 := 0; j0 < n; j0 += rowsAxpyBlock {
		w := min(rowsAxpyBlock, n-j0)
		var buf [rowsAxpyBlock]float32
		acc := buf[:w]
		for p, av := range a {
			br := b[p*ldb+j0:][:w]
			for j, bv := range br {
				acc[j] += av * bv
			}
		}
		cw := c[j0 : j0+w]
		if beta == 0 {
			for j, v := range acc {
				cw[j] = alpha * v
			}
			continue
		}
		for j, v := range acc {
			cw[j] = alpha*v + beta*cw[j]
		}
	}
}
