package kernel

import (
	"fmt"
	"math"
)

// dotLanes is the number of independent partial sums Dot keeps. Summing in
// lanes mirrors what a SIMD kernel does and keeps rounding error growth at
// about sqrt(k/dotLanes) instead of sqrt(k).
const dotLanes = 8

// Dot returns Σ a[i]·b[i] over len(a) elements. b must be at least as long
// as a.
func Dot(a, b []float32) float32 {
	if len(b) < len(a) {
		panic(fmt.Sprintf("kernel: Dot of %d and %d elements", len(a), len(b)))
	}
	b = b[:len(a)]
	var acc [dotLanes]float32
	i := 0
	for ; i+dotLanes <= len(a); i += dotLanes {
		x, y := a[i:i+dotLanes:i+dotLanes], b[i:i+dotLanes:i+dotLanes]
		for l := range acc {
			acc[l] += x[l] * y[l]
		}
	}
	for l := 0; i < len(a); i, l = i+1, l+1 {
		acc[l] += a[i] * b[i]
	}
	return sumLanes(&acc)
}

// sumLanes adds the partial sums pairwise.
func sumLanes(acc *[dotLanes]float32) float32 {
	return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]))
}

// Axpy computes y += alpha·x over len(x) elements.
func Axpy(alpha float32, x, y []float32) {
	if len(y) < len(x) {
		panic(fmt.Sprintf("kernel: Axpy of %d into %d elements", len(x), len(y)))
	}
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

// Softmax replaces x with softmax(x) in place and returns the row's
// log-sum-exp, log Σ exp(x[i]).
//
// The row maximum is subtracted before exponentiation, so no finite input
// overflows. Entries equal to -Inf get weight 0. When every entry is -Inf
// (a fully masked row) the row is set to zeros and -Inf is returned. Callers
// must not pass NaN or +Inf.
func Softmax(x []float32) float32 { return SoftmaxRef(x) }

// SoftmaxRef is the reference twin of Softmax, for float32 and float64: the
// maximum, then exp(x-max) summed in index order, then one division per
// entry.
func SoftmaxRef[F float32 | float64](x []F) F {
	m := F(math.Inf(-1))
	for _, v := range x {
		m = max(m, v)
	}
	if math.IsInf(float64(m), -1) {
		clear(x)
		return m
	}
	var sum F
	for i, v := range x {
		e := F(math.Exp(float64(v - m)))
		x[i] = e
		sum += e
	}
	for i := range x {
		x[i] /= sum
	}
	return m + F(math.Log(float64(sum)))
}
