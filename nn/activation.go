package nn

import "math"

// The activations of the feed-forward blocks, in place on flat slices. Each
// is evaluated in float64 and rounded once, so it is correctly rounded or
// within one ulp of it; long slices are split over the worker pool.

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
	const sqrt2OverPi = 0.7978845608028654
	forRows(len(x), 1, func(i0, i1 int) {
		for i, v := range x[i0:i1] {
			f := float64(v)
			var g float64
			if kind == GELUTanh {
				g = 0.5 * f * (1 + math.Tanh(sqrt2OverPi*(f+0.044715*f*f*f)))
			} else {
				g = 0.5 * f * (1 + math.Erf(f/math.Sqrt2))
			}
			x[i0+i] = float32(g)
		}
	})
}

// ReLU sets every negative element of x to zero.
func ReLU(x []float32) {
	for i, v := range x {
		if v < 0 {
			x[i] = 0
		}
	}
}

// silu is x·σ(x) = x / (1 + e^−x).
func silu(f float64) float64 { return f / (1 + math.Exp(-f)) }

// SiLU applies x·σ(x) to every element of x.
func SiLU(x []float32) {
	forRows(len(x), 1, func(i0, i1 int) {
		for i, v := range x[i0:i1] {
			x[i0+i] = float32(silu(float64(v)))
		}
	})
}

// SwiGLU computes gate ← SiLU(gate) ⊙ up (Shazeer, 2020), the gated unit of
// Llama's feed-forward block, as one rounding of the float64 product.
// gate and up have the same length.
func SwiGLU(gate, up []float32) {
	if len(gate) == 0 {
		return
	}
	_ = up[len(gate)-1]
	forRows(len(gate), 1, func(i0, i1 int) {
		for i := i0; i < i1; i++ {
			gate[i] = float32(silu(float64(gate[i])) * float64(up[i]))
		}
	})
}
