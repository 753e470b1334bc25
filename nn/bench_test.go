package nn

import (
	"fmt"
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

// BenchmarkNorms: LayerNorm and RMSNorm forward (with saved statistics) and
// backward, and the column sums of a Linear's bias gradient, on 256 rows of
// GPT-2's width 768 and of the demo model's 64.
func BenchmarkNorms(b *testing.B) {
	rng := rand.New(rand.NewPCG(6, 6))
	for _, d := range []int{64, 768} {
		const rows = 256
		x, dy := make([]float32, rows*d), make([]float32, rows*d)
		for i := range x {
			x[i], dy[i] = float32(rng.NormFloat64()+0.5), float32(rng.NormFloat64())
		}
		w, bias := make([]float32, d), make([]float32, d)
		for i := range w {
			w[i], bias[i] = float32(1+0.1*rng.NormFloat64()), float32(0.1*rng.NormFloat64())
		}
		y, dx, dw, db := make([]float32, rows*d), make([]float32, rows*d), make([]float32, d), make([]float32, d)
		mean, rstd := make([]float32, rows), make([]float32, rows)
		for _, c := range []struct {
			name string
			run  func()
		}{
			{"LayerNorm", func() { LayerNormForward(y, mean, rstd, x, w, bias, rows, d, 1e-5) }},
			{"LayerNormBackward", func() { LayerNormBackward(dx, dw, db, dy, x, w, mean, rstd, rows, d) }},
			{"RMSNorm", func() { RMSNormForward(y, rstd, x, w, rows, d, 1e-5) }},
			{"RMSNormBackward", func() { RMSNormBackward(dx, dw, dy, x, w, rstd, rows, d) }},
			{"ColSums", func() { colSums(db, dy, rows, d) }}, // a Linear's bias gradient
		} {
			c.run() // the backward forms read the statistics the forward saved
			b.Run(fmt.Sprintf("%s/d=%d", c.name, d), func(b *testing.B) {
				for b.Loop() {
					c.run()
				}
			})
		}
	}
}
