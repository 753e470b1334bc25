package nn

import "github.com/attn-go/attn/kernel"

// The exact (erf) form of GELU, x·Φ(x), takes Φ and the Gaussian density's
// exponential e^(−x²/2) from kernel.NormCDF: erfc through a fitted erfcx
// polynomial (scripts/fit/erfcx.py) times the vector exp, in float64, four
// lanes at a time with AVX2. The derivative Φ(x) + x·φ(x) takes the same
// single exp. Measured on one Zen 3 core (GOMAXPROCS=1 go test -bench
// Activations/GELUErf; ns per element = ns/op / 65536): math.Erf's two
// math.Exp calls take 28–32 ns per element; the scalar float64 erfcx
// 14–24 (median 17.8); its AVX2 form 5.1–8.0 (median 5.2), run in
// alternation with it; the backward 16–26 scalar and 5.6–8.7 with AVX2
// (medians 16.0 and 5.7).
// TestRatioActivations and TestRatioGradients hold both directions within
// 2 ulps of the float64 formulas (erfc-based, exact in the left tail, where
// 1 + erf(x/√2) loses all its digits in float64 below x ≈ −8).

// geluErfRows sets x[i] = x[i]·Φ(x[i]).
func geluErfRows(x []float32) {
	forRows(len(x), 1, func(i0, i1 int) {
		var ez, phi [ratioBlock]float64
		for j0 := i0; j0 < i1; j0 += ratioBlock {
			xs := x[j0:min(j0+ratioBlock, i1)]
			kernel.NormCDF(phi[:], ez[:], xs)
			for i, v := range xs {
				xs[i] = float32(float64(v) * phi[i])
			}
		}
	})
}

// geluErfGradRows adds dy·(Φ(x) + x·φ(x)) into dx.
func geluErfGradRows(dx, dy, x []float32) {
	forRows(len(dx), 1, func(i0, i1 int) {
		var ez, phi [ratioBlock]float64
		for j0 := i0; j0 < i1; j0 += ratioBlock {
			j1 := min(j0+ratioBlock, i1)
			kernel.NormCDF(phi[:], ez[:], x[j0:j1])
			for j := j0; j < j1; j++ {
				f := float64(x[j])
				dx[j] = float32(float64(dx[j]) + float64(dy[j])*(phi[j-j0]+f*invSqrt2Pi*ez[j-j0]))
			}
		}
	})
}
