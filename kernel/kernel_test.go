package kernel

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/attn-go/attn/internal/numcheck"
)

// Sizes around every plausible tile edge.
var sizes = []int{1, 2, 3, 7, 8, 15, 16, 17, 63, 64, 65}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

// Gemm against its float64 definition, every transpose form, odd sizes,
// leading dimensions larger than the rows, and NaN guard bands: the padding
// between rows and after the last row of C must come back untouched, and
// beta = 0 must ignore NaN already in C. Every available variant runs (see
// gemm_test.go for the sweep around every tile and block edge); this is the
// original table, kept as the quick check. Tolerance: gemmTol.
func TestGemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, v := range availableGemms() {
		for _, transA := range []bool{false, true} {
			for _, transB := range []bool{false, true} {
				for _, m := range sizes {
					for _, n := range []int{1, 7, 17, 64} {
						for _, k := range []int{1, 8, 15, 65} {
							for _, beta := range []float32{0, 0.5} {
								checkGemmCase(t, rng, v, gemmCase{transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1.5, beta: beta, pad: [3]int{3, 1, 2}})
							}
						}
					}
				}
			}
		}
	}
}

func TestGemmPanicsOnShortOperands(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a too-short A")
		}
	}()
	Gemm(false, false, 2, 2, 2, 1, make([]float32, 3), 2, make([]float32, 4), 2, 0, make([]float32, 4), 2)
}

func TestLinear(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	m, n, k := 5, 7, 9
	x, w, bias := randSlice(rng, m*k), randSlice(rng, n*k), randSlice(rng, n)
	y := make([]float32, m*n)
	Linear(y, n, x, k, w, k, bias, m, k, n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			s := float64(bias[j])
			for p := 0; p < k; p++ {
				s += float64(x[i*k+p]) * float64(w[j*k+p])
			}
			if d := math.Abs(float64(y[i*n+j]) - s); numcheck.Exceeds(d, 1e-5) {
				t.Fatalf("y[%d,%d] = %v, want %v", i, j, y[i*n+j], s)
			}
		}
	}
}

func TestDotAxpy(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range append([]int{0}, sizes...) {
		a, b := randSlice(rng, n), randSlice(rng, n+3)
		var want, mag float64
		for i := range a {
			want += float64(a[i]) * float64(b[i])
			mag += math.Abs(float64(a[i]) * float64(b[i]))
		}
		if d := math.Abs(float64(Dot(a, b)) - want); numcheck.Exceeds(d, 2*0x1p-24*float64(n)*mag) {
			t.Fatalf("n=%d: Dot off by %g", n, d)
		}
		y := append([]float32(nil), b...)
		Axpy(2, a, y)
		for i := range y {
			w := b[i]
			if i < n {
				w += 2 * a[i]
			}
			if y[i] != w {
				t.Fatalf("n=%d: Axpy y[%d] = %v, want %v", n, i, y[i], w)
			}
		}
	}
}

// Softmax: weights are non-negative and sum to 1 within float32 rounding;
// -Inf entries get exactly 0; a row of all -Inf becomes zeros; huge finite
// logits do not overflow; the returned log-sum-exp matches float64.
func TestSoftmax(t *testing.T) {
	inf := float32(math.Inf(-1))
	cases := map[string][]float32{
		"plain":      {1, 2, 3, 4},
		"one":        {7},
		"equal":      {5, 5, 5},
		"masked":     {0.5, inf, 2, inf},
		"huge":       {1e4, -1e4, 3e38, 3e38},
		"tiny":       {-3e38, -3e38},
		"long":       randSlice(rand.New(rand.NewPCG(7, 8)), 1000),
		"all masked": {inf, inf, inf},
	}
	for name, x := range cases {
		orig := append([]float32(nil), x...)
		lse := Softmax(x)
		m := math.Inf(-1)
		for _, v := range orig {
			m = math.Max(m, float64(v))
		}
		if math.IsInf(m, -1) {
			for _, v := range x {
				if v != 0 {
					t.Fatalf("%s: fully masked row gave %v", name, x)
				}
			}
			if !math.IsInf(float64(lse), -1) {
				t.Fatalf("%s: lse %v, want -Inf", name, lse)
			}
			continue
		}
		var sum, z float64
		for i, v := range x {
			if numcheck.Below(float64(v), 0) {
				t.Fatalf("%s: weight %v", name, v)
			}
			if math.IsInf(float64(orig[i]), -1) && v != 0 {
				t.Fatalf("%s: masked entry got %v", name, v)
			}
			sum += float64(v)
			z += math.Exp(float64(orig[i]) - m)
		}
		if numcheck.Exceeds(math.Abs(sum-1), float64(len(x)+2)*0x1p-24) {
			t.Fatalf("%s: sums to %.9f", name, sum)
		}
		wantLSE := m + math.Log(z)
		if d := math.Abs(float64(lse) - wantLSE); numcheck.Exceeds(d, 4*0x1p-24*math.Max(1, math.Abs(wantLSE))) {
			t.Fatalf("%s: lse %v, want %v", name, lse, wantLSE)
		}
	}
}
