package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/attn-go/attn/internal/numcheck"
	"github.com/attn-go/attn/tensor"
)

// The norms accumulate in float64 and round once, so every output must be
// within one float32 ulp of the float64 formula (bound: 1 ulp, i.e. relative
// 2^-23, plus 1e-30 absolute for outputs near zero).
func TestNormsMatchFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, d := range []int{1, 2, 7, 64, 768, 1000} {
		for _, rows := range []int{1, 3, 17} {
			x := make([]float32, rows*d)
			w := make([]float32, d)
			b := make([]float32, d)
			for i := range x {
				x[i] = float32(rng.NormFloat64()*3 + 1)
			}
			for i := range w {
				w[i], b[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
			}
			const eps = 1e-5
			ln := make([]float32, rows*d)
			LayerNormRows(ln, x, rows, d, w, b, eps)
			rms := make([]float32, rows*d)
			RMSNormRows(rms, x, rows, d, w, eps)
			for r := range rows {
				xr := x[r*d : (r+1)*d]
				var mean, ms float64
				for _, v := range xr {
					mean += float64(v)
					ms += float64(v) * float64(v)
				}
				mean /= float64(d)
				ms /= float64(d)
				var vr float64
				for _, v := range xr {
					vr += (float64(v) - mean) * (float64(v) - mean)
				}
				vr /= float64(d)
				for i, v := range xr {
					wantLN := (float64(v)-mean)/math.Sqrt(vr+eps)*float64(w[i]) + float64(b[i])
					wantRMS := float64(v) / math.Sqrt(ms+eps) * float64(w[i])
					if e := math.Abs(float64(ln[r*d+i]) - wantLN); numcheck.Exceeds(e, math.Abs(wantLN)*0x1p-23+1e-30) {
						t.Fatalf("d=%d layer norm [%d,%d] = %v, want %v", d, r, i, ln[r*d+i], wantLN)
					}
					if e := math.Abs(float64(rms[r*d+i]) - wantRMS); numcheck.Exceeds(e, math.Abs(wantRMS)*0x1p-23+1e-30) {
						t.Fatalf("d=%d rms norm [%d,%d] = %v, want %v", d, r, i, rms[r*d+i], wantRMS)
					}
				}
			}
		}
	}
}

func TestActivationsKnownValues(t *testing.T) {
	// Values from the closed forms evaluated in float64.
	cases := []struct {
		name string
		f    func([]float32)
		x    float32
		want float64
	}{
		{"gelu erf 1", func(x []float32) { GELU(x, GELUErf) }, 1, 0.8413447460685429},
		{"gelu erf -3", func(x []float32) { GELU(x, GELUErf) }, -3, -0.004049694908223},
		{"gelu tanh 1", func(x []float32) { GELU(x, GELUTanh) }, 1, 0.8411919906082768},
		{"gelu tanh -3", func(x []float32) { GELU(x, GELUTanh) }, -3, -0.0036373920817},
		{"silu 1", SiLU, 1, 0.7310585786300049},
		{"silu -20", SiLU, -20, -20 / (1 + math.Exp(20))},
		{"relu -1", ReLU, -1, 0},
		{"relu 2", ReLU, 2, 2},
	}
	for _, c := range cases {
		x := []float32{c.x}
		c.f(x)
		if e := math.Abs(float64(x[0]) - c.want); numcheck.Exceeds(e, math.Abs(c.want)*1e-6+1e-12) {
			t.Errorf("%s = %v, want %v", c.name, x[0], c.want)
		}
	}
	// Long slices go through the worker pool; every element must still be
	// within 2 ulps of the float64 formula (see expAt).
	n := 10007
	x := make([]float32, n)
	up := make([]float32, n)
	for i := range x {
		x[i] = float32(i-n/2) / 1000
		up[i] = float32(i%7) - 3
	}
	g := append([]float32(nil), x...)
	SwiGLU(g, up)
	for i := range x {
		want := float32(float64(x[i]) / (1 + math.Exp(-float64(x[i]))) * float64(up[i]))
		if ulpDist(g[i], want) > 2 {
			t.Fatalf("SwiGLU[%d] = %v, want %v", i, g[i], want)
		}
	}
	SwiGLU(nil, nil)
	GELU(nil, GELUTanh)
}

func TestNormLayersValidate(t *testing.T) {
	w := tensor.Must(tensor.FromSlice([]float32{1, 1, 1}, 3))
	x := tensor.Must(tensor.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3))
	ln := &LayerNorm{Weight: w, Eps: 1e-5}
	y, err := ln.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	if got := y.At(1, 0); numcheck.Exceeds(math.Abs(float64(got)+1.2247357), 1e-5) {
		t.Errorf("layer norm [1,0] = %v, want -1.2247357", got)
	}
	if _, err := ln.Forward(tensor.Must(tensor.New(2, 4))); err == nil {
		t.Error("layer norm accepted [2,4] input for D=3")
	}
	if _, err := (&LayerNorm{Weight: w, Eps: float32(math.NaN())}).Forward(x); err == nil {
		t.Error("layer norm accepted NaN eps")
	}
	if _, err := (&RMSNorm{Weight: tensor.Must(tensor.New(3, 1))}).Forward(x); err == nil {
		t.Error("rms norm accepted a [3,1] weight")
	}
	if _, err := (&LayerNorm{Weight: w, Bias: tensor.Must(tensor.New(2))}).Forward(x); err == nil {
		t.Error("layer norm accepted a [2] bias for D=3")
	}
}

// TestRatioActivations compares the tanh form of GELU, SiLU and SwiGLU
// (vector exp, see expAt) with their float64 formulas rounded once,
// element by element: at most 2 ulps apart (the kernel's exp is within 1.03
// ulp, plus the final rounding), over normal and uniform inputs, the far
// tails, the edges of the fast path's argument range, subnormals, ±0, ±Inf
// and NaN, and lengths that are not a multiple of the vector width or of
// the block.
func TestRatioActivations(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	var xs, ups []float32
	for i := 0; i < 300_000; i++ {
		xs = append(xs, float32(rng.NormFloat64()*3), float32(rng.Float64()*40-20))
	}
	for _, v := range []float64{0, math.Copysign(0, -1), 1e-40, -1e-40, 1e-30, 3.4e38, -3.4e38, math.Inf(1), math.Inf(-1), math.NaN(), 6.5, -6.5, 7.2, -7.2, 10.7, -10.7, 11.5, -11.5, 80, -80, 100, -100, 101, -101, 8.5, 8.6, 8.7, -8.5, -8.6, 87, -87, 87.5, -87.5} {
		xs = append(xs, float32(v))
	}
	for range xs {
		ups = append(ups, float32(rng.NormFloat64()))
	}
	silu64 := func(f float64) float64 { return f / (1 + math.Exp(-f)) }
	for _, tc := range []struct {
		name string
		run  func(x, up []float32)
		want func(f, up float64) float64
	}{
		{"gelu_tanh", func(x, _ []float32) { GELU(x, GELUTanh) }, func(f, _ float64) float64 { return f / (1 + math.Exp(geluTanhArg(f))) }},
		// x·Φ(x) with Φ as erfc(−x/√2)/2, which keeps the left tail's
		// relative accuracy (1 + erf loses it below x ≈ −5).
		{"gelu_erf", func(x, _ []float32) { GELU(x, GELUErf) }, func(f, _ float64) float64 { return f * 0.5 * math.Erfc(-f/math.Sqrt2) }},
		{"silu", func(x, _ []float32) { SiLU(x) }, func(f, _ float64) float64 { return silu64(f) }},
		{"swiglu", SwiGLU, func(f, up float64) float64 { return silu64(f) * up }},
	} {
		for _, n := range []int{len(xs), 1, 7, 255, 257, 1000} {
			x := append([]float32(nil), xs[:n]...)
			tc.run(x, ups[:n])
			same, worst := 0, uint32(0)
			for i, v := range xs[:n] {
				want := float32(tc.want(float64(v), float64(ups[i])))
				got := x[i]
				if math.IsNaN(float64(want)) {
					if !math.IsNaN(float64(got)) {
						t.Fatalf("%s n=%d: f(%v) = %v, want NaN", tc.name, n, v, got)
					}
					continue
				}
				d := ulpDist(got, want)
				if d > 2 {
					t.Fatalf("%s n=%d: f(%v) = %v, float64 formula %v: %d ulps apart", tc.name, n, v, got, want, d)
				}
				if d == 0 {
					same++
				}
				worst = max(worst, d)
			}
			if n == len(xs) {
				t.Logf("%s, %d values: %d identical to the float64 formula, worst %d ulp", tc.name, n, same, worst)
			}
		}
	}
}

// TestRatioGradients compares the backward forms that take their exp from
// the vector kernel (both GELUs, SiLU, SwiGLU) with the float64 formulas on
// the inputs of TestRatioActivations: within 2 ulps of the result or 4e-7
// relative to the sum of the absolute values of the derivative's terms (it
// crosses zero, where an ulp count alone means nothing; the kernel's exp is
// within about 1.2e-7 relative and each term moves by at most twice that),
// NaN where the formula gives NaN.
func TestRatioGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 10))
	var xs []float32
	for i := 0; i < 100_000; i++ {
		xs = append(xs, float32(rng.NormFloat64()*3), float32(rng.Float64()*40-20))
	}
	xs = append(xs, 0, float32(math.Copysign(0, -1)), 1e-40, 3.4e38, -3.4e38, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 80, -80, 101, -101, 9.9, -9.9, 10, -10, 10.1, -10.1, 87, -87)
	n := len(xs)
	dy := make([]float32, n)
	for i := range dy {
		dy[i] = float32(rng.NormFloat64())
	}
	check := func(name string, got []float32, want func(i int) (float64, float64)) {
		t.Helper()
		for i := range got {
			w, scale := want(i)
			if math.IsNaN(w) {
				if !math.IsNaN(float64(got[i])) {
					t.Fatalf("%s(%v) = %v, want NaN", name, xs[i], got[i])
				}
				continue
			}
			if ulpDist(got[i], float32(w)) > 2 && numcheck.Exceeds(math.Abs(float64(got[i])-w), 4e-7*math.Abs(scale)) {
				t.Fatalf("%s(%v) = %v, float64 formula %v", name, xs[i], got[i], w)
			}
		}
	}
	dx := make([]float32, n)
	GELUBackward(dx, dy, xs, GELUErf)
	check("gelu_erf'", dx, func(i int) (float64, float64) {
		f := float64(xs[i])
		return float64(dy[i]) * geluGrad(f, GELUErf), float64(dy[i]) * geluErfGradTerms(f)
	})
	clear(dx)
	GELUBackward(dx, dy, xs, GELUTanh)
	check("gelu_tanh'", dx, func(i int) (float64, float64) {
		return float64(dy[i]) * geluGrad(float64(xs[i]), GELUTanh), float64(dy[i]) * geluGradTerms(float64(xs[i]))
	})
	clear(dx)
	SiLUBackward(dx, dy, xs)
	check("silu'", dx, func(i int) (float64, float64) {
		f := float64(xs[i])
		return float64(dy[i]) * siluGrad(f), float64(dy[i]) * siluGradTerms(f)
	})
	dg, du := make([]float32, n), make([]float32, n)
	ups := append([]float32(nil), dy[1:]...)
	ups = append(ups, 1)
	SwiGLUBackward(dg, du, dy, xs, ups)
	check("swiglu dgate", dg, func(i int) (float64, float64) {
		f, u, d := float64(xs[i]), float64(ups[i]), float64(dy[i])
		return d * u * siluGrad(f), d * u * siluGradTerms(f)
	})
	check("swiglu dup", du, func(i int) (float64, float64) {
		f, d := float64(xs[i]), float64(dy[i])
		return d * f / (1 + math.Exp(-f)), d * f
	})
}

// geluErfGradTerms is Φ(x) + |x·φ(x)|, the sizes of the two terms of the
// erf form's derivative.
func geluErfGradTerms(f float64) float64 {
	return 0.5*math.Erfc(-f/math.Sqrt2) + math.Abs(f*invSqrt2Pi*math.Exp(-0.5*f*f))
}

// geluGradTerms is |(1 + tanh u)/2| + |x/2·sech²u·√(2/π)·(1 + 3·0.044715x²)|,
// the sizes of the two terms of the tanh form's derivative (see geluGrad).
func geluGradTerms(f float64) float64 {
	u := 0.7978845608028654 * (f + 0.044715*f*f*f)
	half := (1 + math.Tanh(u)) / 2
	sech := 1 / math.Cosh(u)
	return math.Abs(half) + math.Abs(0.5*f*sech*sech*0.7978845608028654*(1+3*0.044715*f*f))
}

// siluGradTerms is σ + |σ·x·(1 − σ)|, the sizes of the terms of
// silu'(x) = σ·(1 + x·(1 − σ)).
func siluGradTerms(f float64) float64 {
	s := 1 / (1 + math.Exp(-f))
	return s + math.Abs(s*f*(1-s))
}

// ulpDist is how many float32 values lie between a and b (same sign
// required, ±0 equal).
func ulpDist(a, b float32) uint32 {
	if a == b {
		return 0
	}
	ia, ib := int64(math.Float32bits(a)), int64(math.Float32bits(b))
	if ia>>31 != ib>>31 {
		return math.MaxUint32
	}
	if ia > ib {
		return uint32(ia - ib)
	}
	return uint32(ib - ia)
}
