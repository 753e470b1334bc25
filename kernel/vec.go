package kernel

import (
	"fmt"
	"math"
)

// Vector instruction levels of the vector kernels. vecLevel is the best one
// this CPU and build support; the pure-Go twins (dotGo, axpyGo, ...) are
// level levelGo and are what -tags purego and non-amd64 builds run.
const (
	levelGo = iota
	levelAVX2
	levelAVX512
)

var vecLevel = bestLevel()

func bestLevel() int {
	switch {
	case haveAVX512:
		return levelAVX512
	case haveAVX2:
		return levelAVX2
	}
	return levelGo
}

// vecLevels lists the levels usable here, for tests and benchmarks.
func vecLevels() []int {
	l := []int{levelGo}
	if haveAVX2 {
		l = append(l, levelAVX2)
	}
	if haveAVX512 {
		l = append(l, levelAVX512)
	}
	return l
}

var levelNames = [...]string{levelGo: "go", levelAVX2: "avx2", levelAVX512: "avx512"}

// lanes is the float32 vector width of a level; the assembly kernels take a
// multiple of it and the Go twin finishes the tail.
func lanes(level int) int {
	if level == levelAVX512 {
		return 16
	}
	return 8
}

// dotLanes is the number of independent partial sums the pure-Go Dot keeps.
// Summing in lanes mirrors what a SIMD kernel does and keeps rounding error
// growth at about sqrt(k/dotLanes) instead of sqrt(k). The assembly Dot keeps
// 4 vectors of partial sums (32 or 64 lanes).
const dotLanes = 8

// Dot returns Σ a[i]·b[i] over len(a) elements. b must be at least as long
// as a.
func Dot(a, b []float32) float32 {
	if len(b) < len(a) {
		panic(fmt.Sprintf("kernel: Dot of %d and %d elements", len(a), len(b)))
	}
	return dotLevel(vecLevel, a, b[:len(a)])
}

func dotLevel(level int, a, b []float32) float32 {
	n := len(a)
	if level == levelGo || n < lanes(level) {
		return dotGo(a, b)
	}
	nv := n &^ (lanes(level) - 1)
	s := dotAsm(level, &a[0], &b[0], nv)
	if nv < n {
		s += dotGo(a[nv:], b[nv:n])
	}
	return s
}

// dotGo is the pure-Go twin of Dot.
func dotGo(a, b []float32) float32 {
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

// Axpy computes y += alpha·x over len(x) elements. The assembly form rounds
// once per element (fused multiply-add), the pure-Go twin twice.
func Axpy(alpha float32, x, y []float32) {
	if len(y) < len(x) {
		panic(fmt.Sprintf("kernel: Axpy of %d into %d elements", len(x), len(y)))
	}
	axpyLevel(vecLevel, alpha, x, y[:len(x)])
}

func axpyLevel(level int, alpha float32, x, y []float32) {
	n := len(x)
	if level == levelGo || n < lanes(level) {
		axpyGo(alpha, x, y)
		return
	}
	nv := n &^ (lanes(level) - 1)
	axpyAsm(level, alpha, &x[0], &y[0], nv)
	axpyGo(alpha, x[nv:], y[nv:n])
}

// axpyGo is the pure-Go twin of Axpy.
func axpyGo(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

// ScaleInPlace computes x[i] *= alpha.
func ScaleInPlace(alpha float32, x []float32) { scaleLevel(vecLevel, alpha, x) }

func scaleLevel(level int, alpha float32, x []float32) {
	n := len(x)
	if level == levelGo || n < lanes(level) {
		scaleGo(alpha, x)
		return
	}
	nv := n &^ (lanes(level) - 1)
	scaleAsm(level, alpha, &x[0], nv)
	scaleGo(alpha, x[nv:])
}

// scaleGo is the pure-Go twin of ScaleInPlace.
func scaleGo(alpha float32, x []float32) {
	for i := range x {
		x[i] *= alpha
	}
}

// MaxOf returns the largest element of x, -Inf when x is empty, and NaN
// when any element is NaN (so a caller can detect poisoned scores from the
// maximum alone).
func MaxOf(x []float32) float32 { return maxLevel(vecLevel, x) }

func maxLevel(level int, x []float32) float32 {
	n := len(x)
	if level == levelGo || n < lanes(level) {
		return maxGo(x)
	}
	nv := n &^ (lanes(level) - 1)
	return max(maxAsm(level, &x[0], nv), maxGo(x[nv:]))
}

// maxGo is the pure-Go twin of MaxOf.
func maxGo(x []float32) float32 {
	m := float32(math.Inf(-1))
	for _, v := range x {
		if v > m {
			m = v
		} else if v != v {
			return v
		}
	}
	return m
}

// ExpShift sets x[i] = exp(x[i] - shift) in place and returns the sum of the
// new values. It is the exponential step of softmax, which passes the row
// maximum as shift so every argument is ≤ 0; the polynomial, its measured
// error and its range are described at expShiftGo.
func ExpShift(x []float32, shift float32) (sum float32) { return expShiftLevel(vecLevel, x, shift) }

// ExpShiftAlign is the widest vector of ExpShift's kernels (AVX-512's 16
// lanes). On a slice x[c0:c1] of a row x with c0 a multiple of it and c1
// one too or len(x), ExpShift gives each element the bits it gives over the
// whole row: every element takes the vector kernel or the scalar tail as
// it does there (the two may differ in the last bit).
const ExpShiftAlign = 16

func expShiftLevel(level int, x []float32, shift float32) float32 {
	n := len(x)
	if level == levelGo || n < lanes(level) {
		return expShiftGo(x, shift)
	}
	nv := n &^ (lanes(level) - 1)
	s := expShiftAsm(level, &x[0], nv, shift)
	if nv < n {
		s += expShiftGo(x[nv:], shift)
	}
	return s
}

// SoftmaxGrad sets p[i] = p[i]·(dp[i] − delta) for every i where p[i] is
// not zero, and leaves the zeros (so a NaN in dp where p is 0, from a
// masked value row, does not leak). It is the softmax backward for one
// row: with p the weights, dp = ∂L/∂p and delta = Σ p·dp, the result is
// ∂L/∂scores. dp must be at least as long as p.
func SoftmaxGrad(p, dp []float32, delta float32) {
	if len(dp) < len(p) {
		panic(fmt.Sprintf("kernel: SoftmaxGrad of %d weights with %d gradients", len(p), len(dp)))
	}
	softmaxGradLevel(vecLevel, p, dp, delta)
}

func softmaxGradLevel(level int, p, dp []float32, delta float32) {
	n := len(p)
	dp = dp[:n]
	if level == levelGo || n < 8 {
		softmaxGradGo(p, dp, delta)
		return
	}
	nv := n &^ 7
	softmaxGradAsm(&p[0], &dp[0], nv, delta)
	softmaxGradGo(p[nv:], dp[nv:], delta)
}

// softmaxGradGo is the pure-Go twin of SoftmaxGrad.
func softmaxGradGo(p, dp []float32, delta float32) {
	dp = dp[:len(p)]
	for i, x := range p {
		if x != 0 {
			p[i] = x * (dp[i] - delta)
		}
	}
}

// Softmax replaces x with softmax(x) in place and returns the row's
// log-sum-exp, log Σ exp(x[i]).
//
// The row maximum is subtracted before exponentiation, so no finite input
// overflows. Entries equal to -Inf get weight 0. When every entry is -Inf
// (a fully masked row) the row is set to zeros and -Inf is returned. Callers
// must not pass NaN or +Inf.
//
// With the assembly kernels (amd64 with AVX2+FMA, not -tags purego) it runs
// MaxOf, ExpShift (a polynomial exp, at most 2 ulp from exp per element; see
// expShiftGo) and ScaleInPlace by 1/sum; otherwise it is SoftmaxRef.
func Softmax(x []float32) float32 {
	if vecLevel == levelGo {
		return SoftmaxRef(x)
	}
	return softmaxLevel(vecLevel, x)
}

func softmaxLevel(level int, x []float32) float32 {
	m := maxLevel(level, x)
	if math.IsInf(float64(m), -1) {
		clear(x)
		return m
	}
	sum := expShiftLevel(level, x, m)
	scaleLevel(level, 1/sum, x)
	return m + float32(math.Log(float64(sum)))
}

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

// AllFinite reports whether every element of x is finite: no NaN, no ±Inf.
// The assembly has no branch per element (x−x is 0 or NaN, summed), so a
// check of a layer's output costs about one read of it.
func AllFinite(x []float32) bool { return allFiniteLevel(vecLevel, x) }

func allFiniteLevel(level int, x []float32) bool {
	n8 := 0
	if level != levelGo {
		n8 = len(x) &^ 7
		if n8 > 0 && nonFiniteAsm(&x[0], n8) {
			return false
		}
	}
	return allFiniteGo(x[n8:])
}

// allFiniteGo is the pure-Go twin of AllFinite.
func allFiniteGo(x []float32) bool {
	for _, v := range x {
		if v-v != 0 { // NaN - NaN and Inf - Inf are NaN; finite x - x is 0
			return false
		}
	}
	return true
}
