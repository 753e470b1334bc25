package nn

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkActivations: the activations and their backward forms on 64 Ki
// elements of N(0,1) data (half of them negative, as pre-activations are),
// the sizes of a small model's feed-forward block. ns/op / 65536 is the
// cost per element.
func BenchmarkActivations(b *testing.B) {
	const n = 1 << 16
	rng := rand.New(rand.NewPCG(5, 5))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	y := make([]float32, n)
	dx := make([]float32, n)
	dy := make([]float32, n)
	b.Run("ReLU", func(b *testing.B) {
		for b.Loop() {
			copy(y, x)
			ReLU(y)
		}
	})
	b.Run("ReLUBackward", func(b *testing.B) {
		for b.Loop() {
			ReLUBackward(dx, x, x)
		}
	})
	b.Run("GELUTanh", func(b *testing.B) {
		for b.Loop() {
			copy(y, x)
			GELU(y, GELUTanh)
		}
	})
	b.Run("SiLU", func(b *testing.B) {
		for b.Loop() {
			copy(y, x)
			SiLU(y)
		}
	})
	b.Run("SwiGLU", func(b *testing.B) {
		for b.Loop() {
			copy(y, x)
			SwiGLU(y, x)
		}
	})
	b.Run("SwiGLUBackward", func(b *testing.B) {
		for b.Loop() {
			SwiGLUBackward(dx, y, dy, x, x)
		}
	})
	b.Run("GELUTanhBackward", func(b *testing.B) {
		for b.Loop() {
			GELUBackward(dx, x, x, GELUTanh)
		}
	})
}
