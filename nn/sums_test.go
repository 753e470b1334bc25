package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/attn-go/attn/internal/numcheck"
)

// The unrolled reductions against plain float64 loops, on every row count
// around the four-row step and widths around the 64-column block. Both sum
// in float64 from float32 inputs, so they may differ only by float64
// rounding (relative 1e-13 of the sum of magnitudes is far above it and
// far below a float32 ulp); the results added into a float32 destination
// must then round to the same value or a neighbour.
func TestUnrolledSums(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 13))
	for _, rows := range []int{1, 2, 3, 4, 5, 7, 8, 9, 33} {
		for _, d := range []int{1, 3, 4, 5, 63, 64, 65, 130} {
			x, dy := randSlice(rng, rows*d, 2, 0.5), randSlice(rng, rows*d, 1, 0)
			mean, rstd := randSlice(rng, rows, 0.3, 0), randSlice(rng, rows, 0.2, 1)
			db := make([]float32, d)
			colSums(db, dy, rows, d)
			dw2, db2 := make([]float32, d), make([]float32, d)
			normParamGrads(dw2, db2, dy, x, mean, rstd, rows, d)
			for j := range d {
				var s, sw, mag, magw float64
				for r := range rows {
					g := float64(dy[r*d+j])
					xh := (float64(x[r*d+j]) - float64(mean[r])) * float64(rstd[r])
					s += g
					sw += g * xh
					mag += math.Abs(g)
					magw += math.Abs(g * xh)
				}
				for _, c := range []struct {
					name      string
					got       float32
					want, mag float64
				}{{"colSums", db[j], s, mag}, {"normParamGrads db", db2[j], s, mag}, {"normParamGrads dw", dw2[j], sw, magw}} {
					if ulpDist(c.got, float32(c.want)) > 1 && numcheck.Exceeds(math.Abs(float64(c.got)-c.want), 1e-13*c.mag) {
						t.Fatalf("%s rows=%d d=%d: column %d = %v, want %v", c.name, rows, d, j, c.got, c.want)
					}
				}
			}
		}
	}
	for _, n := range []int{0, 1, 3, 4, 5, 8, 11, 100} {
		x, dy, w := randSlice(rng, n, 2, 0.5), randSlice(rng, n, 1, 0), randSlice(rng, n, 1, 1)
		const mu = 0.25
		var s, q, g, h float64
		for i := range n {
			s += float64(x[i])
			q += (float64(x[i]) - mu) * (float64(x[i]) - mu)
			a := float64(dy[i]) * float64(w[i])
			g += a
			h += a * (float64(x[i]) - mu)
		}
		gg, hh := gradSums64(dy, w, x, mu)
		for _, c := range []struct {
			name      string
			got, want float64
		}{{"sum64", sum64(x), s}, {"sqDev64", sqDev64(x, mu), q}, {"gradSums64 g", gg, g}, {"gradSums64 h", hh, h}} {
			if numcheck.Exceeds(math.Abs(c.got-c.want), 1e-13*(1+math.Abs(c.want))) {
				t.Fatalf("%s n=%d: %v, want %v", c.name, n, c.got, c.want)
			}
		}
	}
}
