package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/attn-go/attn/internal/numcheck"
)

// packedGemms are GemmPacked on every blocked variant this machine runs,
// in Gemm's signature (transA must be false): B is packed on each call,
// split into parts columns wide (0: one part), as the models' fused q, k
// and v are.
func packedGemms() []namedGemm {
	var out []namedGemm
	for _, g := range gemmImpls {
		if g.spec == nil || !g.spec.available() {
			continue
		}
		for _, parts := range []int{0, 3} {
			spec := g.spec
			out = append(out, namedGemm{fmt.Sprintf("%s/packed/parts=%d", g.name, parts), func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
				if transA {
					panic("packed products take A as stored")
				}
				p := packB(spec, k, splitB(transB, n, b, ldb, parts))
				GemmPacked(m, alpha, a, lda, p, beta, c, ldc)
			}})
		}
	}
	return out
}

// splitB cuts op(B) [k, n] into parts of about n/parts columns (one part
// when parts is 0 or n is small), widths that are not multiples of nr.
func splitB(trans bool, n int, b []float32, ldb, parts int) []BPart {
	if parts < 2 || n < parts {
		return []BPart{{Trans: trans, N: n, B: b, Ld: ldb}}
	}
	var out []BPart
	for i := range parts {
		j0, j1 := i*n/parts, (i+1)*n/parts
		off := j0
		if trans {
			off = j0 * ldb
		}
		out = append(out, BPart{Trans: trans, N: j1 - j0, B: b[off:], Ld: ldb})
	}
	return out
}

// TestGemmPacked runs the packed products through the same checks as Gemm
// (float64 definition, NaN guard bands in the padding of A, B and C) over
// m around every micro-tile height and the small-m path (1-5 rows), n
// around the panel widths, k around the depth blocks (256, 512, and three
// blocks of 344 for 1030), both stored layouts of B, beta 0 (C holds NaN)
// and not.
func TestGemmPacked(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	ms := []int{1, 2, 5, 6, 7, 13, 14, 15, 64, 129}
	ns := []int{1, 7, 16, 17, 33, 100, 130}
	ks := []int{1, 9, 255, 256, 257, 513, 1030}
	if testing.Short() || raceEnabled {
		ms, ns, ks = []int{1, 5, 6, 15, 64}, []int{1, 17, 33, 100}, []int{1, 257, 513}
	}
	for _, g := range packedGemms() {
		for _, transB := range []bool{false, true} {
			for _, m := range ms {
				for _, n := range ns {
					for _, k := range ks {
						if m*n*k > 2e6 {
							continue // the float64 definition dominates
						}
						for _, beta := range []float32{0, 0.5} {
							pad := [3]int{(m + k) % 3, 1 + n%2, k % 2}
							checkGemmCase(t, rng, g, gemmCase{transB: transB, m: m, n: n, k: k, alpha: 1.25, beta: beta, pad: pad})
						}
					}
				}
			}
		}
		// Large enough to run in parallel, over several column blocks (nc).
		checkGemmCase(t, rng, g, gemmCase{m: 70, n: 4500, k: 40, alpha: 1, beta: 0, pad: [3]int{1, 3, 2}})
		checkGemmCase(t, rng, g, gemmCase{transB: true, m: 3, n: 700, k: 300, alpha: -1, beta: 1, pad: [3]int{0, 1, 0}})
	}
}

// PackB with parts of both stored layouts side by side is the matrix of
// their columns.
func TestPackBMixedParts(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	const k = 300
	widths := []int{19, 40, 5}
	n := 19 + 40 + 5
	full := randSlice(rng, k*n) // op(B) [k, n]
	var parts []BPart
	j0 := 0
	for i, w := range widths {
		if i%2 == 0 {
			// Stored [w, k] (transposed), with a padded leading dimension.
			ld := k + 2
			b := make([]float32, w*ld)
			for j := range w {
				for p := range k {
					b[j*ld+p] = full[p*n+j0+j]
				}
			}
			parts = append(parts, BPart{Trans: true, N: w, B: b, Ld: ld})
		} else {
			parts = append(parts, BPart{N: w, B: full[j0:], Ld: n})
		}
		j0 += w
	}
	for _, g := range gemmImpls {
		if g.spec == nil || !g.spec.available() {
			continue
		}
		p := packB(g.spec, k, parts)
		for _, m := range []int{1, 20} {
			a := randSlice(rng, m*k)
			got := make([]float32, m*n)
			GemmPacked(m, 1, a, k, p, 0, got, n)
			tc := gemmCase{m: m, n: n, k: k, alpha: 1}
			want, mag := gemm64Mag(tc, a, k, full, n, nil, n)
			for i, v := range got {
				if d := abs64(float64(v) - want[i]); numcheck.Exceeds(d, gemmTol(k, mag[i])) {
					t.Fatalf("%s m=%d: C[%d,%d] = %v, want %v", g.name, m, i/n, i%n, v, want[i])
				}
			}
		}
	}
}

func abs64(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// GemmPacked and LinearPacked allocate nothing once warmed up.
func TestGemmPackedNoAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(35, 36))
	const k, n = 300, 200
	w := randSlice(rng, n*k)
	p := PackB(k, BPart{Trans: true, N: n, B: w, Ld: k})
	bias := randSlice(rng, n)
	for _, m := range []int{1, 100} {
		x := randSlice(rng, m*k)
		y := make([]float32, m*n)
		LinearPacked(y, n, x, k, p, bias, m)
		if a := testing.AllocsPerRun(20, func() { LinearPacked(y, n, x, k, p, bias, m) }); a != 0 {
			t.Errorf("m=%d: %v allocations per call", m, a)
		}
	}
}
