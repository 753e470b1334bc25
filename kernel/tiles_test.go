package kernel

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/attn-go/attn/internal/numcheck"
)

// tilesVariants returns a Tiles for every micro-kernel this machine runs
// ("ref" has none of its own and uses purego's, so it is the same).
func tilesVariants(t *testing.T) map[string]Tiles {
	out := map[string]Tiles{}
	for _, g := range gemmImpls {
		if g.spec != nil && g.spec.available() {
			out[g.name] = Tiles{g.spec}
		}
	}
	if err := SetGemmVariant("ref"); err != nil {
		t.Fatal(err)
	}
	if CurrentTiles().s != specGo {
		t.Errorf("ref variant: CurrentTiles is %s, want purego's", CurrentTiles().s.name)
	}
	if err := SetGemmVariant(""); err != nil {
		t.Fatal(err)
	}
	return out
}

// PackTrans lays out srcᵀ in NR-wide panels, zero past n; the guard band
// after the packed length is untouched.
func TestTilesPackTrans(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	variants := tilesVariants(t)
	for _, name := range slices.Sorted(maps.Keys(variants)) {
		tl := variants[name]
		for _, sz := range [][3]int{{1, 1, 1}, {5, 3, 7}, {16, 64, 64}, {17, 64, 70}, {33, 9, 9}, {100, 13, 20}, {256, 64, 2304}} {
			n, k, ld := sz[0], sz[1], sz[2]
			t.Run(fmt.Sprintf("%s/n=%d,k=%d,ld=%d", name, n, k, ld), func(t *testing.T) {
				src := randSlice(rng, (n-1)*ld+k)
				need := tl.PackedLen(n, k)
				if want := (n + tl.NR() - 1) / tl.NR() * tl.NR() * k; need != want {
					t.Fatalf("PackedLen %d, want %d", need, want)
				}
				dst := make([]float32, need+8)
				for i := range dst {
					dst[i] = float32(math.NaN())
				}
				tl.PackTrans(dst, src, ld, n, k)
				nr := tl.NR()
				for j := 0; j < (n+nr-1)/nr*nr; j++ {
					for p := 0; p < k; p++ {
						got := dst[(j/nr)*k*nr+p*nr+j%nr]
						want := float32(0)
						if j < n {
							want = src[j*ld+p]
						}
						if got != want && !(got == 0 && want == 0) {
							t.Fatalf("B(%d,%d) = %v, want %v", p, j, got, want)
						}
					}
				}
				for i := need; i < len(dst); i++ {
					if dst[i] == dst[i] {
						t.Fatalf("guard element %d written", i)
					}
				}
			})
		}
	}
}

// Run on packed panels and on a row-major B read in place, row-major A,
// beta 0 and 1, against the float64 definition within gemmTol; C outside
// the mt·MR × nt·NR corner (a NaN guard) is untouched.
func TestTilesRun(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	variants := tilesVariants(t)
	for _, name := range slices.Sorted(maps.Keys(variants)) {
		tl := variants[name]
		mr, nr := tl.MR(), tl.NR()
		for _, sz := range [][3]int{{1, 1, 1}, {2, 3, 7}, {3, 4, 64}, {1, 2, 256}, {4, 1, 9}} {
			for _, packed := range []bool{true, false} {
				for _, beta := range []float32{0, 1} {
					mt, nt, k := sz[0], sz[1], sz[2]
					m, n := mt*mr, nt*nr
					t.Run(fmt.Sprintf("%s/mt=%d,nt=%d,k=%d,packed=%v,beta=%v", name, mt, nt, k, packed, beta), func(t *testing.T) {
						lda, ldbt, ldbn, ldc := k+3, k+5, n+5, n+2
						a := randSlice(rng, m*lda)
						bt := randSlice(rng, n*ldbt) // [n,k] rows for packing
						bn := randSlice(rng, k*ldbn) // [k,n] rows read in place
						c := make([]float32, (m+1)*ldc)
						for i := range c {
							c[i] = float32(math.NaN())
						}
						for i := 0; i < m; i++ {
							for j := 0; j < n; j++ {
								c[i*ldc+j] = float32(rng.NormFloat64())
							}
						}
						c0 := append([]float32(nil), c...)
						const alpha = 0.75
						bAt := func(p, j int) float32 {
							if packed {
								return bt[j*ldbt+p]
							}
							return bn[p*ldbn+j]
						}
						if packed {
							bp := make([]float32, tl.PackedLen(n, k))
							tl.PackTrans(bp, bt, ldbt, n, k)
							tl.Run(mt, nt, k, alpha, a, 1, lda, bp, nr, k*nr, beta, c, ldc)
						} else {
							tl.Run(mt, nt, k, alpha, a, 1, lda, bn, ldbn, nr, beta, c, ldc)
						}
						for i := 0; i < m+1; i++ {
							for j := 0; j < ldc; j++ {
								got := c[i*ldc+j]
								if i >= m || j >= n {
									if got == got {
										t.Fatalf("C(%d,%d) outside the tiles written: %v", i, j, got)
									}
									continue
								}
								var want, mag float64
								for p := 0; p < k; p++ {
									x := float64(alpha) * float64(a[i*lda+p]) * float64(bAt(p, j))
									want += x
									mag += math.Abs(x)
								}
								want += float64(beta) * float64(c0[i*ldc+j])
								mag += math.Abs(float64(beta) * float64(c0[i*ldc+j]))
								if d := math.Abs(float64(got) - want); numcheck.Exceeds(d, gemmTol(k, mag)) {
									t.Fatalf("C(%d,%d) = %v, want %v (tol %.3g)", i, j, got, want, gemmTol(k, mag))
								}
							}
						}
					})
				}
			}
		}
	}
}

// Operands one element short of whole tiles are refused before the
// assembly reads them.
func TestTilesRunPanicsOnShortOperands(t *testing.T) {
	tl := CurrentTiles()
	mr, nr := tl.MR(), tl.NR()
	k := 8
	a := make([]float32, mr*k)
	b := make([]float32, k*nr)
	c := make([]float32, mr*nr)
	for _, tc := range []struct {
		name    string
		a, b, c []float32
	}{
		{"A", a[:len(a)-1], b, c},
		{"B", a, b[:len(b)-1], c},
		{"C", a, b, c[:len(c)-1]},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("short %s: no panic", tc.name)
				}
			}()
			tl.Run(1, 1, k, 1, tc.a, 1, k, tc.b, nr, nr, 0, tc.c, nr)
		}()
	}
}
