package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/attn-go/attn/internal/numcheck"
)

// Finite-difference checks of every backward.
//
// Each case lists float32 inputs and a float64 twin of the forward followed
// by a fixed random objective L = Σ r·y (r float32-representable, and passed
// as dy to the backward). The inputs are float32 values, so the twin sees
// exactly the numbers the float32 code sees. The reference gradient is the
// central difference (L(p+h) − L(p−h)) / (2h) in float64 with h = 1e-6 ·
// max(1, |p|): its truncation error is O(h²) ≈ 1e-12 and its rounding error
// about 1e-16·|L|/h ≈ 1e-9 for the |L| ≲ 10 used here.
//
// The analytic gradients are float32: each element is rounded once (2^-24
// ≈ 6e-8 relative) after float64 accumulation, or, for the Linear products,
// summed in float32 over at most 13 terms (about 13·2^-24 ≈ 8e-7 of the sum
// of the terms' magnitudes). LayerNorm also reads its saved mean and rstd
// rounded to float32, which perturbs x̂ by about 2^-24·|mean|·rstd ≈ 1e-7
// for the inputs here. The bound gradTol = 1e-5, applied norm-wise (‖a −
// n‖₂ ≤ tol·‖n‖₂) and element-wise against the tensor's largest entry
// (|a_i − n_i| ≤ tol·max|n|), sits an order of magnitude above all of these
// and far below the O(1) error of a wrong formula or index.
const (
	gradTol  = 1e-5
	gradAtol = 1e-8 // absolute floor for gradients that are exactly zero
)

type gradCase struct {
	name string
	// in holds every input and parameter of the layer.
	in [][]float32
	// wrt lists the indices of in that receive gradients.
	wrt []int
	// loss is the float64 twin of the forward followed by the objective.
	loss func(in [][]float64) float64
	// backward runs the float32 forward (for saved state) and backward,
	// adding into grads[k] for every k in wrt; other entries are nil.
	backward func(in, grads [][]float32)
}

func randSlice(rng *rand.Rand, n int, scale, shift float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64()*scale + shift)
	}
	return x
}

func to64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

func dot64(r []float32, y []float64) float64 {
	var s float64
	for i, v := range y {
		s += float64(r[i]) * v
	}
	return s
}

// numGrad is the central-difference gradient of f with respect to p; f
// reads p, which is restored after each perturbation. The divisor is the
// actual distance between the perturbed points.
func numGrad(f func() float64, p []float64) []float64 {
	g := make([]float64, len(p))
	for i, old := range p {
		h := 1e-6 * math.Max(1, math.Abs(old))
		hi, lo := old+h, old-h
		p[i] = hi
		fp := f()
		p[i] = lo
		fm := f()
		p[i] = old
		g[i] = (fp - fm) / (hi - lo)
	}
	return g
}

// gradErr reports whether got is within tol of want norm-wise and
// element-wise (against want's largest entry), with an absolute floor.
func gradErr(got []float32, want []float64, tol, atol float64) error {
	if len(got) != len(want) {
		return fmt.Errorf("length %d, want %d", len(got), len(want))
	}
	var num, den, maxRef float64
	for i, w := range want {
		d := float64(got[i]) - w
		num += d * d
		den += w * w
		maxRef = math.Max(maxRef, math.Abs(w))
	}
	if numcheck.Exceeds(math.Sqrt(num), tol*math.Sqrt(den)+atol) {
		return fmt.Errorf("relative error %.3g > %g (got %v, want %v)", math.Sqrt(num/den), tol, got, want)
	}
	for i, w := range want {
		if e := math.Abs(float64(got[i]) - w); numcheck.Exceeds(e, tol*maxRef+atol) {
			return fmt.Errorf("[%d] = %v, want %v (error %.3g > %.3g)", i, got[i], w, e, tol*maxRef+atol)
		}
	}
	return nil
}

func runGradCase(t *testing.T, c gradCase) {
	t.Helper()
	in64 := make([][]float64, len(c.in))
	for k, x := range c.in {
		in64[k] = to64(x)
	}
	grads := make([][]float32, len(c.in))
	for _, k := range c.wrt {
		grads[k] = make([]float32, len(c.in[k]))
	}
	c.backward(c.in, grads)
	first := make([][]float32, len(c.in))
	for _, k := range c.wrt {
		first[k] = append([]float32(nil), grads[k]...)
		want := numGrad(func() float64 { return c.loss(in64) }, in64[k])
		if err := gradErr(first[k], want, gradTol, gradAtol); err != nil {
			t.Errorf("%s: gradient of input %d: %v", c.name, k, err)
		}
	}
	// Backward adds: a second call doubles every gradient. Doubling a float32
	// is exact and the second addition rounds once, so the result is 2·first
	// to within one rounding (2^-24 relative, bound 2^-23).
	c.backward(c.in, grads)
	for _, k := range c.wrt {
		for i, g := range grads[k] {
			want := 2 * float64(first[k][i])
			if numcheck.Exceeds(math.Abs(float64(g)-want), math.Abs(want)*0x1p-23) {
				t.Errorf("%s: input %d [%d]: second backward gives %v, want 2·%v", c.name, k, i, g, first[k][i])
				break
			}
		}
	}
}

// Float64 twins of the forwards.

func linear64(x, w, b []float64, m, in, out int) []float64 {
	y := make([]float64, m*out)
	for r := 0; r < m; r++ {
		for o := 0; o < out; o++ {
			var s float64
			if b != nil {
				s = b[o]
			}
			for i := 0; i < in; i++ {
				s += x[r*in+i] * w[o*in+i]
			}
			y[r*out+o] = s
		}
	}
	return y
}

func layerNorm64(x, w, b []float64, rows, d int, eps float64) []float64 {
	y := make([]float64, rows*d)
	for r := 0; r < rows; r++ {
		xr := x[r*d : (r+1)*d]
		var mean, v float64
		for _, e := range xr {
			mean += e
		}
		mean /= float64(d)
		for _, e := range xr {
			v += (e - mean) * (e - mean)
		}
		v /= float64(d)
		for i, e := range xr {
			y[r*d+i] = (e - mean) / math.Sqrt(v+eps) * w[i]
			if b != nil {
				y[r*d+i] += b[i]
			}
		}
	}
	return y
}

func rmsNorm64(x, w []float64, rows, d int, eps float64) []float64 {
	y := make([]float64, rows*d)
	for r := 0; r < rows; r++ {
		xr := x[r*d : (r+1)*d]
		var ms float64
		for _, e := range xr {
			ms += e * e
		}
		ms /= float64(d)
		for i, e := range xr {
			y[r*d+i] = e / math.Sqrt(ms+eps) * w[i]
		}
	}
	return y
}

func gelu64(x float64, kind GELUKind) float64 {
	if kind == GELUTanh {
		return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
	}
	return 0.5 * x * math.Erfc(-x/math.Sqrt2)
}

func silu64(x float64) float64 { return x / (1 + math.Exp(-x)) }

// crossEntropy64 is PyTorch's definition written out: log-softmax, then
// (1−ε)·(−log p_t) + ε·mean_c(−log p_c) per counted row.
func crossEntropy64(logits []float64, targets []int, rows, V int, eps float64, ignore int) (sum float64, count int) {
	for r := 0; r < rows; r++ {
		t := targets[r]
		if t == ignore {
			continue
		}
		l := logits[r*V : (r+1)*V]
		m := math.Inf(-1)
		for _, v := range l {
			m = math.Max(m, v)
		}
		var z float64
		for _, v := range l {
			z += math.Exp(v - m)
		}
		lse := m + math.Log(z)
		var smooth float64
		for _, v := range l {
			smooth += -(v - lse)
		}
		sum += (1-eps)*-(l[t]-lse) + eps*smooth/float64(V)
		count++
	}
	return sum, count
}

func gradCases() []gradCase {
	rng := rand.New(rand.NewPCG(11, 12))
	var cases []gradCase

	for _, s := range []struct {
		m, in, out int
		bias       bool
	}{{3, 7, 5, true}, {1, 1, 1, true}, {4, 13, 11, false}, {5, 2, 9, true}} {
		m, in, out := s.m, s.in, s.out
		r := randSlice(rng, m*out, 1, 0)
		x, w := randSlice(rng, m*in, 1, 0), randSlice(rng, out*in, 0.5, 0)
		var b []float32
		wrt := []int{0, 1}
		if s.bias {
			b = randSlice(rng, out, 0.5, 0)
			wrt = append(wrt, 2)
		}
		cases = append(cases, gradCase{
			name: fmt.Sprintf("linear m=%d in=%d out=%d bias=%v", m, in, out, s.bias),
			in:   [][]float32{x, w, b},
			wrt:  wrt,
			loss: func(p [][]float64) float64 {
				var b64 []float64
				if s.bias {
					b64 = p[2]
				}
				return dot64(r, linear64(p[0], p[1], b64, m, in, out))
			},
			backward: func(p, g [][]float32) { LinearBackward(g[0], g[1], g[2], r, p[0], p[1], m, in, out) },
		})
	}

	for _, s := range []struct {
		rows, d    int
		bias       bool
		scale, off float64
	}{{3, 7, true, 1, 0}, {1, 1, true, 1, 0}, {2, 5, false, 2, 3}, {4, 65, true, 0.5, -1}} {
		rows, d := s.rows, s.d
		const eps = 1e-5
		r := randSlice(rng, rows*d, 1, 0)
		x, w := randSlice(rng, rows*d, s.scale, s.off), randSlice(rng, d, 1, 1)
		var b []float32
		wrt := []int{0, 1}
		if s.bias {
			b = randSlice(rng, d, 1, 0)
			wrt = append(wrt, 2)
		}
		cases = append(cases, gradCase{
			name: fmt.Sprintf("layernorm rows=%d d=%d bias=%v", rows, d, s.bias),
			in:   [][]float32{x, w, b},
			wrt:  wrt,
			loss: func(p [][]float64) float64 {
				var b64 []float64
				if s.bias {
					b64 = p[2]
				}
				return dot64(r, layerNorm64(p[0], p[1], b64, rows, d, eps))
			},
			backward: func(p, g [][]float32) {
				y, mean, rstd := make([]float32, rows*d), make([]float32, rows), make([]float32, rows)
				LayerNormForward(y, mean, rstd, p[0], p[1], p[2], rows, d, eps)
				LayerNormBackward(g[0], g[1], g[2], r, p[0], p[1], mean, rstd, rows, d)
			},
		})
		cases = append(cases, gradCase{
			name: fmt.Sprintf("rmsnorm rows=%d d=%d", rows, d),
			in:   [][]float32{x, w},
			wrt:  []int{0, 1},
			loss: func(p [][]float64) float64 { return dot64(r, rmsNorm64(p[0], p[1], rows, d, eps)) },
			backward: func(p, g [][]float32) {
				y, rstd := make([]float32, rows*d), make([]float32, rows)
				RMSNormForward(y, rstd, p[0], p[1], rows, d, eps)
				RMSNormBackward(g[0], g[1], r, p[0], p[1], rstd, rows, d)
			},
		})
	}

	{
		const num, dim = 6, 5
		ids := []int{2, 0, 2, 5, 2, 1, 3}
		r := randSlice(rng, len(ids)*dim, 1, 0)
		cases = append(cases, gradCase{
			name: "embedding with repeated ids",
			in:   [][]float32{randSlice(rng, num*dim, 1, 0)},
			wrt:  []int{0},
			loss: func(p [][]float64) float64 {
				var s float64
				for i, id := range ids {
					for c := 0; c < dim; c++ {
						s += float64(r[i*dim+c]) * p[0][id*dim+c]
					}
				}
				return s
			},
			backward: func(p, g [][]float32) { EmbeddingBackward(g[0], r, ids, dim) },
		})
	}

	{
		const batch, T, offset, maxLen, d = 3, 4, 2, 7, 5
		r := randSlice(rng, batch*T*d, 1, 0)
		cases = append(cases, gradCase{
			name: "learned positions",
			in:   [][]float32{randSlice(rng, batch*T*d, 1, 0), randSlice(rng, maxLen*d, 1, 0)},
			wrt:  []int{0, 1},
			loss: func(p [][]float64) float64 {
				var s float64
				for b := 0; b < batch; b++ {
					for i := 0; i < T*d; i++ {
						s += float64(r[b*T*d+i]) * (p[0][b*T*d+i] + p[1][offset*d+i])
					}
				}
				return s
			},
			backward: func(p, g [][]float32) {
				// The input gradient is the identity.
				for i, v := range r {
					g[0][i] += v
				}
				LearnedPositionsBackward(g[1], r, batch, T, offset, d)
			},
		})
	}

	// Activations, including the far tails: at ±30 GELU's derivative is 1 or
	// about 1e-196, and neither may be NaN.
	act := []float32{-30, -10, -5, -3, -1.5, -0.75, -0.3, 0.01, 0.4, 1, 2.5, 5, 10, 30}
	act = append(act, randSlice(rng, 9, 2, 0)...)
	for _, kind := range []GELUKind{GELUErf, GELUTanh} {
		r := randSlice(rng, len(act), 1, 0)
		cases = append(cases, gradCase{
			name: "gelu " + kind.String(),
			in:   [][]float32{act},
			wrt:  []int{0},
			loss: func(p [][]float64) float64 {
				var s float64
				for i, v := range p[0] {
					s += float64(r[i]) * gelu64(v, kind)
				}
				return s
			},
			backward: func(p, g [][]float32) { GELUBackward(g[0], r, p[0], kind) },
		})
	}
	{
		r := randSlice(rng, len(act), 1, 0)
		cases = append(cases, gradCase{
			name: "relu", // no input within 1e-2 of the kink
			in:   [][]float32{act},
			wrt:  []int{0},
			loss: func(p [][]float64) float64 {
				var s float64
				for i, v := range p[0] {
					s += float64(r[i]) * math.Max(v, 0)
				}
				return s
			},
			backward: func(p, g [][]float32) { ReLUBackward(g[0], r, p[0]) },
		})
		cases = append(cases, gradCase{
			name: "silu",
			in:   [][]float32{act},
			wrt:  []int{0},
			loss: func(p [][]float64) float64 {
				var s float64
				for i, v := range p[0] {
					s += float64(r[i]) * silu64(v)
				}
				return s
			},
			backward: func(p, g [][]float32) { SiLUBackward(g[0], r, p[0]) },
		})
		up := randSlice(rng, len(act), 1, 0)
		cases = append(cases, gradCase{
			name: "swiglu",
			in:   [][]float32{act, up},
			wrt:  []int{0, 1},
			loss: func(p [][]float64) float64 {
				var s float64
				for i, v := range p[0] {
					s += float64(r[i]) * silu64(v) * p[1][i]
				}
				return s
			},
			backward: func(p, g [][]float32) { SwiGLUBackward(g[0], g[1], r, p[0], p[1]) },
		})
	}

	for _, prob := range []float32{0, 0.1, 0.5, 1} {
		const n, seed, offset = 23, 7, 1000
		r := randSlice(rng, n, 1, 0)
		cases = append(cases, gradCase{
			name: fmt.Sprintf("dropout p=%v", prob),
			in:   [][]float32{randSlice(rng, n, 1, 0)},
			wrt:  []int{0},
			loss: func(p [][]float64) float64 {
				var s float64
				for i, v := range p[0] {
					if DropoutKeep(prob, seed, offset+uint64(i)) {
						s += float64(r[i]) * v / (1 - float64(prob))
					}
				}
				return s
			},
			backward: func(p, g [][]float32) { DropoutBackward(g[0], r, prob, seed, offset) },
		})
	}

	for _, s := range []struct {
		name    string
		targets []int
		eps     float32
		scale   float32 // 0: the count of counted rows
	}{
		{"plain", []int{3, 0, 10, 7}, 0, 0},
		{"smoothing 0.1", []int{3, 0, 10, 7}, 0.1, 0},
		{"ignored rows", []int{-100, 4, -100, 10}, 0, 0},
		{"ignored rows smoothing 0.1 sum", []int{5, -100, 1, -100}, 0.1, 1},
		{"all ignored", []int{-100, -100, -100, -100}, 0.1, 1},
	} {
		const rows, V, ignore = 4, 11, -100
		logits := randSlice(rng, rows*V, 2, 0)
		scale := s.scale
		if scale == 0 {
			for _, t := range s.targets {
				if t != ignore {
					scale++
				}
			}
		}
		cases = append(cases, gradCase{
			name: "cross-entropy " + s.name,
			in:   [][]float32{logits},
			wrt:  []int{0},
			loss: func(p [][]float64) float64 {
				sum, _ := crossEntropy64(p[0], s.targets, rows, V, float64(s.eps), ignore)
				return sum / float64(scale)
			},
			backward: func(p, g [][]float32) {
				dl := make([]float32, rows*V)
				CrossEntropy(dl, p[0], s.targets, rows, V, s.eps, ignore, scale)
				for i, v := range dl {
					g[0][i] += v
				}
			},
		})
	}
	return cases
}

func TestBackwardFiniteDifferences(t *testing.T) {
	for _, c := range gradCases() {
		t.Run(c.name, func(t *testing.T) { runGradCase(t, c) })
	}
}

// The float64 derivative helpers against central differences of the
// float64 functions, with no float32 rounding involved: the bound 1e-7
// relative to max(1, |f'|) covers the difference quotient's error (about
// 1e-9 here) with a wide margin.
func TestActivationDerivatives64(t *testing.T) {
	fns := []struct {
		name string
		f    func(float64) float64
		df   func(float64) float64
	}{
		{"gelu", func(x float64) float64 { return gelu64(x, GELUErf) }, func(x float64) float64 { return geluGrad(x, GELUErf) }},
		{"gelu_new", func(x float64) float64 { return gelu64(x, GELUTanh) }, func(x float64) float64 { return geluGrad(x, GELUTanh) }},
		{"silu", silu64, siluGrad},
	}
	for _, fn := range fns {
		for _, x := range []float64{-40, -12, -6, -2, -0.7518, -0.1, 0, 0.3, 1, 3, 7, 40, 1e4, -1e4} {
			got := fn.df(x)
			if math.IsNaN(got) || math.IsInf(got, 0) {
				t.Fatalf("%s'(%v) = %v", fn.name, x, got)
			}
			h := 1e-6 * math.Max(1, math.Abs(x))
			want := (fn.f(x+h) - fn.f(x-h)) / ((x + h) - (x - h))
			if numcheck.Exceeds(math.Abs(got-want), 1e-7*math.Max(1, math.Abs(want))) {
				t.Errorf("%s'(%v) = %v, want %v", fn.name, x, got, want)
			}
		}
	}
	// The limits: gelu'(x) → 1 as x → +∞ and → 0 as x → −∞, for both forms.
	for _, kind := range []GELUKind{GELUErf, GELUTanh} {
		if g := geluGrad(1e6, kind); g != 1 {
			t.Errorf("%v'(1e6) = %v, want 1", kind, g)
		}
		if g := geluGrad(-1e6, kind); g != 0 {
			t.Errorf("%v'(-1e6) = %v, want 0", kind, g)
		}
	}
}
