package nn

import "math"

// The exact (erf) form of GELU on the vector exp. For t ≥ 0,
//
//	erfc(t) = e^(−t²)·erfcx(t),  erfcx(t) = u·q(s),  u = 2/(2 + t),
//
// with s an affine map of u ∈ [u(10.5), 1] onto [−1, 1] and q the degree-12
// polynomial below, fitted for relative error by scripts/fit/erfcx.py
// (which checks it against double-precision erfc). Then Φ(x) =
// erfc(|x|/√2)/2 for x < 0 and 1 − erfc(|x|/√2)/2 otherwise, and
// e^(−t²) = e^(−x²/2) is also the Gaussian density's exponential, so the
// derivative Φ(x) + x·φ(x) takes the same single exp. The exp comes from the
// vector kernel as in ratioRows; erfcx costs a division and 12 multiply-adds
// in float64, where math.Erf takes two math.Exp calls: 28–32 → 14–18 ns per
// element on one Zen 3 core (BenchmarkActivations/GELUErf), the backward
// 53 → 15–16 ns. TestRatioActivations and TestRatioGradients hold both
// within 2 ulps of the float64 formulas (erfc-based, exact in the left
// tail, where 1 + erf(x/√2) loses all its digits in float64 below x ≈ −8
// and the previous float64 form did too).

// Fitted by scripts/fit/erfcx.py: degree 12 on t in [0, 10.5];
// max relative error of erfc(t)·exp(t²) 1.81e-10 (Horner, float64).
var erfcxCoef = [...]float64{
	0.5694087223854012,
	0.32718793034444943,
	0.10352099819496109,
	0.006307950007636089,
	-0.006327403685128771,
	-0.0006722123299607426,
	0.0006254771515836725,
	3.727660134661162e-06,
	-7.187688970403211e-05,
	1.2625796326032615e-05,
	6.569495759012972e-06,
	-2.208290879616427e-06,
	-2.9998888031008356e-07,
}

// erfcxULo is u at the end of the fitted range, t = 10.5.
const erfcxULo = 2 / (2 + 10.5)

// erfBlock sets ez[i] = e^(−f²/2) and phi[i] = Φ(f) for f = xs[i], taking
// e^(−f²/2) from the vector kernel (e is scratch) with its rounding
// residual put back, as ratioRows does. Φ is erfc(|f|/√2)/2 on the left
// (relative accuracy kept) and 1 minus it on the right, chosen without a
// branch (the signs of pre-activations are random).
func erfBlock(xs, e []float32, ez, phi []float64) {
	e = e[:len(xs)]
	fillExp(e, xs, ratioGELUErf)
	c := &erfcxCoef
	// u = 2r with r = 1/(2 + t), and s = (2u − (1 + uLo))/(1 − uLo) =
	// sa·r + sb: one division per element.
	const sa, sb = 4 / (1 - erfcxULo), -(1 + erfcxULo) / (1 - erfcxULo)
	ez, phi = ez[:len(xs)], phi[:len(xs)]
	for i, v := range xs {
		f := float64(v)
		z := -0.5 * f * f
		var E float64
		if fastExp(z) {
			E = expFrom(e[i], z)
		} else {
			E = math.Exp(z)
		}
		r := 1 / (2 + math.Abs(f)*(1/math.Sqrt2))
		s := sa*r + sb
		if s < -1 {
			s = -1 // beyond the fitted range (|f| > 14.8): E·q < 1e-47
		}
		// q(s) by Estrin's scheme: a dependency chain of five
		// multiply-adds instead of Horner's twelve.
		s2 := s * s
		s4 := s2 * s2
		p0 := (c[0] + c[1]*s) + (c[2]+c[3]*s)*s2
		p1 := (c[4] + c[5]*s) + (c[6]+c[7]*s)*s2
		p2 := (c[8] + c[9]*s) + (c[10]+c[11]*s)*s2
		q := (p0 + p1*s4) + (p2+c[12]*s4)*(s4*s4)
		h := E * r * q // erfc(|f|/√2)/2 = E·u·q/2
		neg := float64(math.Float64bits(f) >> 63)
		ez[i] = E
		phi[i] = neg*h + (1-neg)*(1-h)
	}
}

// geluErfRows sets x[i] = x[i]·Φ(x[i]).
func geluErfRows(x []float32) {
	forRows(len(x), 1, func(i0, i1 int) {
		var buf [ratioBlock]float32
		var ez, phi [ratioBlock]float64
		for j0 := i0; j0 < i1; j0 += ratioBlock {
			xs := x[j0:min(j0+ratioBlock, i1)]
			erfBlock(xs, buf[:], ez[:], phi[:])
			for i, v := range xs {
				xs[i] = float32(float64(v) * phi[i])
			}
		}
	})
}

// geluErfGradRows adds dy·(Φ(x) + x·φ(x)) into dx.
func geluErfGradRows(dx, dy, x []float32) {
	forRows(len(dx), 1, func(i0, i1 int) {
		var buf [ratioBlock]float32
		var ez, phi [ratioBlock]float64
		for j0 := i0; j0 < i1; j0 += ratioBlock {
			j1 := min(j0+ratioBlock, i1)
			erfBlock(x[j0:j1], buf[:], ez[:], phi[:])
			for j := j0; j < j1; j++ {
				f := float64(x[j])
				dx[j] = float32(float64(dx[j]) + float64(dy[j])*(phi[j-j0]+f*invSqrt2Pi*ez[j-j0]))
			}
		}
	})
}
