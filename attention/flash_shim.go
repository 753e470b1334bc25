package attention

import (
	"math"

	"github.com/attn-go/attn/kernel"
)

// Temporary stand-ins until the kernel package exports its vector kernels.

func gemmSerial(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	kernel.GemmRef(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func maxOf(x []float32) float32 {
	m := float32(math.Inf(-1))
	for _, v := range x {
		m = max(m, v)
	}
	return m
}

func expShift(x []float32, shift float32) float32 {
	var s float32
	for i, v := range x {
		e := float32(math.Exp(float64(v - shift)))
		x[i] = e
		s += e
	}
	return s
}

func scaleInPlace(a float32, x []float32) {
	for i := range x {
		x[i] *= a
	}
}
