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
	// In-place forms start from a fresh copy of x each time (the copy is
	// part of the figure); backward forms take x as the upstream gradient.
	for _, c := range []struct {
		name string
		run  func()
	}{
		{"ReLU", func() { copy(y, x); ReLU(y) }},
		{"ReLUBackward", func() { ReLUBackward(dx, x, x) }},
		{"GELUErf", func() { copy(y, x); GELU(y, GELUErf) }},
		{"GELUTanh", func() { copy(y, x); GELU(y, GELUTanh) }},
		{"SiLU", func() { copy(y, x); SiLU(y) }},
		{"SwiGLU", func() { copy(y, x); SwiGLU(y, x) }},
		{"SwiGLUBackward", func() { SwiGLUBackward(dx, y, x, x, x) }},
		{"GELUErfBackward", func() { GELUBackward(dx, x, x, GELUErf) }},
		{"GELUTanhBackward", func() { GELUBackward(dx, x, x, GELUTanh) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				c.run()
			}
		})
	}
}
