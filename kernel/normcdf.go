package kernel

import (
	"fmt"
	"math"
)

// The standard normal CDF Φ, for the exact (erf) form of GELU. For t ≥ 0,
//
//	erfc(t) = e^(−t²)·erfcx(t),  erfcx(t) = u·q(s),  u = 2/(2 + t),
//
// with s an affine map of u ∈ [u(10.5), 1] onto [−1, 1] and q the degree-12
// polynomial below, fitted for relative error by scripts/fit/erfcx.py
// (which checks it against double-precision erfc). Then Φ(x) =
// erfc(|x|/√2)/2 for x < 0 and 1 − erfc(|x|/√2)/2 otherwise, and
// e^(−t²) = e^(−x²/2) is also the Gaussian density's exponential, so GELU's
// derivative Φ(x) + x·φ(x) takes the same single exp. That exp comes from
// the vector ExpShift of float32(−x²/2), with its rounding residual put
// back in float64; erfcx costs a division and 12 multiply-adds in float64,
// four lanes at a time with AVX2 (normCDFAVX2, the same operations in the
// same order as normCDFGo, so the two agree bit for bit).

// erfcxCoef is fitted by scripts/fit/erfcx.py: degree 12 on t in [0, 10.5];
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

// normBlock is how many elements NormCDF hands ExpShift at once (the
// scratch lives on the stack).
const normBlock = 256

// NormCDF sets phi[i] = Φ(x[i]), the standard normal CDF, and ez[i] =
// e^(−x[i]²/2), for i < len(x), in float64 to within two float32 ulps
// (relative): meant for float32 results such as GELU's x·Φ(x). The left
// tail keeps that relative accuracy down to x = −14.8 (Φ ≈ 2e-50, where
// 1 + erf(x/√2) lost every digit long before); below, Φ stays under 1e-49.
// phi and ez must be at least as long as x. NaN gives NaN; ±Inf give Φ = 1
// or 0 and ez = 0.
func NormCDF(phi, ez []float64, x []float32) {
	if len(phi) < len(x) || len(ez) < len(x) {
		panic(fmt.Sprintf("kernel: NormCDF of %d values into phi of %d and ez of %d", len(x), len(phi), len(ez)))
	}
	normCDFLevel(vecLevel, phi, ez, x)
}

func normCDFLevel(level int, phi, ez []float64, x []float32) {
	n := len(x)
	phi, ez = phi[:n], ez[:n]
	var buf [normBlock]float32
	for j0 := 0; j0 < n; j0 += normBlock {
		xs := x[j0:min(j0+normBlock, n)]
		e := buf[:len(xs)]
		for i, v := range xs {
			f := float64(v)
			e[i] = float32(-0.5 * f * f)
		}
		expShiftLevel(level, e, 0)
		nv := 0
		if level != levelGo && haveAVX2 {
			nv = len(xs) &^ 3
		}
		if nv > 0 {
			normCDFAVX2(&xs[0], &e[0], &ez[j0], &phi[j0], nv)
			// Lanes outside the exp's fast range (|x| > 13.19, NaN) go
			// through math.Exp, as the Go twin takes them.
			for i, v := range xs[:nv] {
				if f := float64(v); !fastExp(-0.5 * f * f) {
					normCDFGo(xs[i:i+1], e[i:i+1], ez[j0+i:], phi[j0+i:])
				}
			}
		}
		normCDFGo(xs[nv:], e[nv:], ez[j0+nv:], phi[j0+nv:])
	}
}

// fastExp reports whether z is in (−87, 80), where the float32 exp with its
// residual put back is accurate: below, its float32 result is subnormal and
// has lost relative precision (e^−87.3 is float32's smallest normal), above
// it nears overflow (false for NaN too).
func fastExp(z float64) bool { return z > -87 && z < 80 }

// normCDFGo is the pure-Go twin of normCDFAVX2: it sets ez[i] and phi[i]
// for each xs[i] from e[i] = the vector exp of float32(−xs[i]²/2). Φ is
// erfc(|f|/√2)/2 on the left and 1 minus it on the right, chosen without a
// branch (the signs of pre-activations are random).
func normCDFGo(xs, e []float32, ez, phi []float64) {
	c := &erfcxCoef
	// u = 2r with r = 1/(2 + t), and s = (2u − (1 + uLo))/(1 − uLo) =
	// sa·r + sb: one division per element.
	const sa, sb = 4 / (1 - erfcxULo), -(1 + erfcxULo) / (1 - erfcxULo)
	e, ez, phi = e[:len(xs)], ez[:len(xs)], phi[:len(xs)]
	for i, v := range xs {
		f := float64(v)
		z := -0.5 * f * f
		var E float64
		if fastExp(z) {
			E = float64(e[i]) * (1 + (z - float64(float32(z))))
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
