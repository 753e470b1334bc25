package nn

import (
	"math"

	"github.com/attn-go/attn/kernel"
)

// The activations of the feed-forward blocks, in place on flat slices. Each
// is evaluated in float64 and rounded once; GELU (both forms), SiLU and
// SwiGLU take their exp from the vector kernel and are within 2 ulps of the
// float64 formulas (see ratioRows, and erf.go for the erf form); long
// slices are split over the worker pool.

// GELUKind selects the form of GELU (Hendrycks and Gimpel, 2016).
type GELUKind int

const (
	// GELUErf is the exact form x·Φ(x) = x/2·(1 + erf(x/√2)) (BERT,
	// PyTorch's default).
	GELUErf GELUKind = iota
	// GELUTanh is the tanh approximation x/2·(1 + tanh(√(2/π)·(x +
	// 0.044715x³))) (GPT-2's "gelu_new", PyTorch approximate="tanh").
	GELUTanh
)

// String returns the Hugging Face name of the form.
func (k GELUKind) String() string {
	if k == GELUTanh {
		return "gelu_new"
	}
	return "gelu"
}

// GELU applies GELU of the given kind to every element of x.
func GELU(x []float32, kind GELUKind) {
	if kind == GELUTanh {
		ratioRows(x, nil, ratioGELUTanh)
		return
	}
	geluErfRows(x)
}

// geluTanhArg is −2u, the argument of the exp in the tanh form of GELU:
// x/2·(1 + tanh u) = x·σ(2u) = x/(1 + e^(−2u)), u = √(2/π)·(x +
// 0.044715x³): one exp, and no cancellation in 1 + tanh u on the left tail.
func geluTanhArg(f float64) float64 {
	const sqrt2OverPi = 0.7978845608028654
	return -2 * sqrt2OverPi * (f + 0.044715*f*f*f)
}

// The tanh form of GELU, SiLU and SwiGLU are all f/(1 + e^z) with z a
// function of f (times up for SwiGLU), computed by ratioRows; their
// derivatives take one e^z each too (gradRows). The erf form takes its
// e^z, z = −f²/2, from kernel.NormCDF (erf.go).
type ratioKind int

const (
	ratioGELUTanh ratioKind = iota // z = −2u
	ratioSiLU                      // z = −f
	ratioGELUGrad                  // z = −2|u| (the derivative, see geluGrad)
)

func (k ratioKind) arg(f float64) float64 {
	switch k {
	case ratioSiLU:
		return -f
	case ratioGELUGrad:
		return -math.Abs(geluTanhArg(f))
	}
	return geluTanhArg(f)
}

// expFrom is e^z from ek, the vector kernel's exp of float32(z), with the
// rounding's residual put back (see ratioRows); z must be in the kernel's
// accurate range (fastExp). Callers choose between it and math.Exp in their
// loops: one helper doing both is over the inliner's budget, and the call
// per element measured 2× slower.
func expFrom(ek float32, z float64) float64 { return float64(ek) * (1 + (z - float64(float32(z)))) }

// fastExp reports whether z is in (−87, 80), where expFrom applies: below,
// the kernel's float32 result is subnormal and has lost relative precision
// (e^−87.3 is float32's smallest normal; the derivatives scale with it),
// above it nears overflow (false for NaN too).
func fastExp(z float64) bool { return z > -87 && z < 80 }

// fillExp sets e[i] = exp(float32(k.arg(x[i]))) with the vector kernel.
func fillExp(e, x []float32, k ratioKind) {
	for i, v := range x {
		e[i] = float32(k.arg(float64(v)))
	}
	kernel.ExpShift(e, 0)
}

// ratioBlock is how many elements ratioRows hands the vector exp at once
// (the scratch lives on the stack).
const ratioBlock = 256

// ratioRows sets x[i] = x[i]/(1 + e^z) (times up[i] when up is not nil),
// z = k.arg(x[i]), with the exponential in the vector kernel
// (kernel.ExpShift), about ten times faster than math.Exp per element, and
// the rest in float64, rounded once. z is taken in float64 and rounded to
// zh = float32(z) for the kernel; the rounding's residual zl = z − zh is put
// back with e^z = e^zh·(1 + zl) (|zl| ≤ 2^-25·|z|, so the omitted zl²/2 is
// below 2^-51 relative; for SiLU z = −f is exact and zl is 0). Without the
// residual the error would grow with |z| (GELU's left tail reaches z = 80,
// i.e. 40 ulps); with it what is left is the kernel's exp (at most 1.03 ulp
// measured) and the final rounding: TestRatioActivations measures at most
// 2 ulps from the float64 formula, with about 90% of results identical.
// Arguments outside (−87, 80) (fastExp), and NaN and ±Inf inputs, take
// math.Exp.
func ratioRows(x, up []float32, k ratioKind) {
	if up != nil && len(x) > 0 {
		_ = up[len(x)-1]
	}
	forRows(len(x), 1, func(i0, i1 int) {
		var buf [ratioBlock]float32
		for j0 := i0; j0 < i1; j0 += ratioBlock {
			xs := x[j0:min(j0+ratioBlock, i1)]
			e := buf[:len(xs)]
			fillExp(e, xs, k)
			for i, v := range xs {
				f := float64(v)
				z := k.arg(f)
				var ez float64
				if fastExp(z) {
					ez = expFrom(e[i], z)
				} else {
					ez = math.Exp(z)
				}
				y := f / (1 + ez)
				if up != nil {
					y *= float64(up[j0+i])
				}
				xs[i] = float32(y)
			}
		}
	})
}

// gradRows adds the derivatives that take one e^z per element into dx:
// dy·gelu'(x) for the tanh form (k = ratioGELUGrad), dy·silu'(x) (k =
// ratioSiLU, up nil), or SwiGLU's dy·up·silu'(x) into dx and dy·SiLU(x)
// into dup (k = ratioSiLU with up and dup). As in ratioRows, the
// exponential comes from the vector kernel with its residual put back and
// the rest is float64, rounded once: within 2 ulps of the float64 formula,
// or 4e-7 relative to the terms near the derivative's zero crossing
// (TestRatioGradients).
func gradRows(dx, dy, x, up, dup []float32, k ratioKind) {
	n := len(dx)
	if n == 0 {
		return
	}
	_, _ = dy[n-1], x[n-1]
	if up != nil {
		_, _ = up[n-1], dup[n-1]
	}
	forRows(n, 1, func(i0, i1 int) {
		var buf [ratioBlock]float32
		for j0 := i0; j0 < i1; j0 += ratioBlock {
			j1 := min(j0+ratioBlock, i1)
			e := buf[:j1-j0]
			fillExp(e, x[j0:j1], k)
			for j := j0; j < j1; j++ {
				f, d := float64(x[j]), float64(dy[j])
				z := k.arg(f)
				var ez float64
				if fastExp(z) {
					ez = expFrom(e[j-j0], z)
				} else {
					ez = math.Exp(z)
				}
				switch {
				case k == ratioGELUGrad:
					dx[j] = float32(float64(dx[j]) + d*geluTanhGrad(f, ez))
				case up == nil:
					dx[j] = float32(float64(dx[j]) + d*siluGradFrom(f, ez))
				default:
					u := float64(up[j])
					dx[j] = float32(float64(dx[j]) + d*u*siluGradFrom(f, ez))
					dup[j] = float32(float64(dup[j]) + d*f/(1+ez))
				}
			}
		}
	})
}

// ReLU sets every negative element of x to zero (NaN stays NaN).
func ReLU(x []float32) {
	// A bit mask chosen without a branch (the sign of x is random, so a
	// branch mispredicts half the time: 4.6× slower on 64 Ki elements;
	// BenchmarkActivations, docs/training.md).
	for i, v := range x {
		m := uint32(0xffffffff)
		if v < 0 {
			m = 0
		}
		x[i] = math.Float32frombits(math.Float32bits(v) & m)
	}
}

// SiLU applies x·σ(x) to every element of x (within 2 ulps of the float64
// formula, see ratioRows).
func SiLU(x []float32) { ratioRows(x, nil, ratioSiLU) }

// SwiGLU computes gate ← SiLU(gate) ⊙ up (Shazeer, 2020), the gated unit of
// Llama's feed-forward block, with the product in float64 and one rounding
// (within 2 ulps of the float64 formula, see ratioRows). gate and up have
// the same length.
func SwiGLU(gate, up []float32) {
	if len(gate) == 0 {
		return
	}
	ratioRows(gate, up[:len(gate)], ratioSiLU)
}

// Backward forms. Each takes the forward's pre-activation input (the
// forward works in place, so training code keeps a copy of x before
// calling it, or recomputes it) and ADDS dy·f'(x) into dx, evaluating the
// derivative in float64 and rounding once per element. dx must not overlap
// dy or x.

// geluGrad is the derivative of GELU of the given kind at f.
//
// Exact form: d/dx x·Φ(x) = Φ(x) + x·φ(x), with Φ(x) = erfc(−x/√2)/2 so the
// left tail keeps its relative accuracy. Tanh form: with u = √(2/π)·(x +
// 0.044715x³), d/dx x/2·(1 + tanh u) = (1 + tanh u)/2 + x/2·sech²(u)·√(2/π)·(1
// + 3·0.044715x²). Both terms come from one e = exp(−2|u|), which never
// overflows: (1 + tanh u)/2 is 1/(1 + e) for u ≥ 0 and e/(1 + e) for u < 0
// (no cancellation on the left tail), and sech²(u) = 4e/(1 + e)², which
// goes to 0 (never NaN) for large |u|.
func geluGrad(f float64, kind GELUKind) float64 {
	if kind == GELUTanh {
		return geluTanhGrad(f, math.Exp(ratioGELUGrad.arg(f)))
	}
	return 0.5*math.Erfc(-f/math.Sqrt2) + f*invSqrt2Pi*math.Exp(-0.5*f*f)
}

const invSqrt2Pi = 0.3989422804014327 // 1/√(2π)

// geluTanhGrad is the tanh form's derivative at f given e = exp(−2|u|).
func geluTanhGrad(f, e float64) float64 {
	const sqrt2OverPi = 0.7978845608028654
	inv := 1 / (1 + e)
	// (1 + tanh u)/2 is inv for u ≥ 0 and e·inv for u < 0 (u has the sign
	// of f), chosen without a branch: the signs of pre-activations are
	// random, so a branch mispredicts half the time. s·e + (1 − s) is
	// exactly e or 1 for s = 1 or 0 (e ≤ 1, or NaN).
	neg := float64(math.Float64bits(f) >> 63)
	half := inv * (neg*e + (1 - neg))
	sech2 := 4 * e * inv * inv
	return half + 0.5*f*sech2*sqrt2OverPi*(1+3*0.044715*f*f)
}

// GELUBackward adds dy·gelu'(x) into dx, where x is GELU's input.
func GELUBackward(dx, dy, x []float32, kind GELUKind) {
	if len(dx) == 0 {
		return
	}
	_ = dy[len(dx)-1]
	_ = x[len(dx)-1]
	if kind == GELUTanh {
		gradRows(dx, dy, x, nil, nil, ratioGELUGrad)
		return
	}
	geluErfGradRows(dx, dy, x)
}

// ReLUBackward adds dy into dx where x > 0 (the derivative at 0 is taken as
// 0, as PyTorch does).
func ReLUBackward(dx, dy, x []float32) {
	if len(dx) == 0 {
		return
	}
	_ = dy[len(dx)-1]
	_ = x[len(dx)-1]
	for i := range dx {
		// dy where x > 0, else +0 (even where dy is NaN), without a branch.
		m := uint32(0)
		if x[i] > 0 {
			m = 0xffffffff
		}
		dx[i] += math.Float32frombits(math.Float32bits(dy[i]) & m)
	}
}

// siluGrad is the derivative of x·σ(x): σ(x)·(1 + x·(1 − σ(x))). σ is
// 1/(1 + e^−x), which is 0 (not NaN) when e^−x overflows.
func siluGrad(f float64) float64 { return siluGradFrom(f, math.Exp(-f)) }

// siluGradFrom is siluGrad given e = e^−x.
func siluGradFrom(f, e float64) float64 {
	s := 1 / (1 + e)
	return s * (1 + f*(1-s))
}

// SiLUBackward adds dy·silu'(x) into dx, where x is SiLU's input.
func SiLUBackward(dx, dy, x []float32) {
	if len(dx) == 0 {
		return
	}
	_ = dy[len(dx)-1]
	_ = x[len(dx)-1]
	gradRows(dx, dy, x, nil, nil, ratioSiLU)
}

// SwiGLUBackward adds the gradients of out = SiLU(gate)⊙up into dgate
// (dy·up·silu'(gate)) and dup (dy·SiLU(gate)). gate and up are the
// forward's inputs, before SwiGLU overwrote gate; all five slices have the
// length of dy.
func SwiGLUBackward(dgate, dup, dy, gate, up []float32) {
	n := len(dy)
	if n == 0 {
		return
	}
	gradRows(dgate[:n], dy, gate, up, dup, ratioSiLU)
}
