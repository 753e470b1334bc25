package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
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

// gemm64 is the float64 definition of Gemm.
func gemm64(transA, transB bool, m, n, k int, alpha float64, a []float32, lda int, b []float32, ldb int, beta float64, c []float32, ldc int) []float64 {
	out := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			out[i*n+j] = alpha * s
			if beta != 0 {
				out[i*n+j] += beta * float64(c[i*ldc+j])
			}
		}
	}
	return out
}

// Gemm against its float64 definition, every transpose form, odd sizes,
// leading dimensions larger than the rows, and NaN guard bands: the padding
// between rows and after the last row of C must come back untouched, and
// beta = 0 must ignore NaN already in C. Tolerance: each element is a k-term
// float32 sum, error at most about k·2^-24·Σ|a·b|; 4·2^-24·sqrt(k)·Σ|a·b| per
// element holds for lane-wise summation with wide margin, and an indexing
// mistake is off by O(1).
func TestGemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	nan := float32(math.NaN())
	for _, transA := range []bool{false, true} {
		for _, transB := range []bool{false, true} {
			for _, m := range sizes {
				for _, n := range []int{1, 7, 17, 64} {
					for _, k := range []int{1, 8, 15, 65} {
						for _, beta := range []float32{0, 0.5} {
							name := fmt.Sprintf("tA=%v,tB=%v,m=%d,n=%d,k=%d,beta=%v", transA, transB, m, n, k, beta)
							ar, ac := m, k
							if transA {
								ar, ac = k, m
							}
							br, bc := k, n
							if transB {
								br, bc = n, k
							}
							lda, ldb, ldc := ac+3, bc+1, n+2
							a := randSlice(rng, ar*lda)
							b := randSlice(rng, br*ldb)
							c := make([]float32, m*ldc+5)
							for i := range c {
								c[i] = nan
							}
							for i := 0; i < m; i++ {
								for j := 0; j < n; j++ {
									if beta != 0 {
										c[i*ldc+j] = float32(rng.NormFloat64())
									}
								}
							}
							want := gemm64(transA, transB, m, n, k, 1.5, a, lda, b, ldb, float64(beta), c, ldc)
							Gemm(transA, transB, m, n, k, 1.5, a, lda, b, ldb, beta, c, ldc)
							for i := 0; i < m; i++ {
								for j := 0; j < ldc; j++ {
									got := c[i*ldc+j]
									if j >= n {
										if !math.IsNaN(float64(got)) {
											t.Fatalf("%s: guard C[%d,%d] overwritten with %v", name, i, j, got)
										}
										continue
									}
									w := want[i*n+j]
									tol := 4 * 0x1p-24 * math.Sqrt(float64(k)) * (math.Abs(w) + 1.5*float64(k))
									if d := math.Abs(float64(got) - w); !(d <= tol) {
										t.Fatalf("%s: C[%d,%d] = %v, want %v (tol %g)", name, i, j, got, w, tol)
									}
								}
							}
							for _, g := range c[m*ldc:] {
								if !math.IsNaN(float64(g)) {
									t.Fatalf("%s: guard after C overwritten", name)
								}
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
	Linear(y, n, x, k, w, k, bias, m, n, k)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			s := float64(bias[j])
			for p := 0; p < k; p++ {
				s += float64(x[i*k+p]) * float64(w[j*k+p])
			}
			if d := math.Abs(float64(y[i*n+j]) - s); d > 1e-5 {
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
		if d := math.Abs(float64(Dot(a, b)) - want); d > 2*0x1p-24*float64(n)*mag {
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
			if v < 0 || math.IsNaN(float64(v)) {
				t.Fatalf("%s: weight %v", name, v)
			}
			if math.IsInf(float64(orig[i]), -1) && v != 0 {
				t.Fatalf("%s: masked entry got %v", name, v)
			}
			sum += float64(v)
			z += math.Exp(float64(orig[i]) - m)
		}
		if math.Abs(sum-1) > float64(len(x)+2)*0x1p-24 {
			t.Fatalf("%s: sums to %.9f", name, sum)
		}
		wantLSE := m + math.Log(z)
		if d := math.Abs(float64(lse) - wantLSE); d > 4*0x1p-24*math.Max(1, math.Abs(wantLSE)) {
			t.Fatalf("%s: lse %v, want %v", name, lse, wantLSE)
		}
	}
}
