package attention

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/attn-go/attn/internal/numcheck"
	"github.com/attn-go/attn/internal/parallel"
	"github.com/attn-go/attn/tensor"
)

// guarded returns a [B,H,T,X] view inside a larger NaN-filled buffer, with
// padding between rows, between heads and after the end, so a write outside
// the view shows up as a changed NaN.
func guarded(B, H, T, X int) (view *tensor.Tensor, buf []float32) {
	ld := X + 3
	buf = make([]float32, B*H*T*ld+ld+7)
	for i := range buf {
		buf[i] = float32(math.NaN())
	}
	full := tensor.Must(tensor.FromSlice(buf[:B*H*T*ld], B, H, T, ld))
	view = must(full.Narrow(3, 0, X))
	return view, buf
}

func checkGuards(t *testing.T, view *tensor.Tensor, buf []float32) {
	t.Helper()
	inside := make(map[int]bool, view.Len())
	B, H, T, X := view.Dim(0), view.Dim(1), view.Dim(2), view.Dim(3)
	for b := 0; b < B; b++ {
		for h := 0; h < H; h++ {
			for i := 0; i < T; i++ {
				p := view.Offset() + b*view.Stride(0) + h*view.Stride(1) + i*view.Stride(2)
				for x := 0; x < X; x++ {
					inside[p+x] = true
				}
			}
		}
	}
	for i, v := range buf {
		if !inside[i] && !math.IsNaN(float64(v)) {
			t.Fatalf("write outside the view at buffer index %d: %v", i, v)
		}
	}
}

// maskFn builds masks for a call of sizes B, H, T, S.
type maskFn func(B, H, T, S int) []Mask

// edgeMaskKinds are the mask kinds the tile-edge tests run the fused paths
// with, one of each kind and one combination.
func edgeMaskKinds(rng *rand.Rand) map[string]maskFn {
	return map[string]maskFn{
		"none":        func(B, H, T, S int) []Mask { return nil },
		"causal":      func(B, H, T, S int) []Mask { return []Mask{Causal{}} },
		"causal-br":   func(B, H, T, S int) []Mask { return []Mask{Causal{Align: BottomRight}} },
		"window":      func(B, H, T, S int) []Mask { return []Mask{SlidingWindow{Size: 70, Align: BottomRight}} },
		"lengths":     func(B, H, T, S int) []Mask { return []Mask{KeyLengths(randLengths(rng, B, S))} },
		"bool":        func(B, H, T, S int) []Mask { return []Mask{must(NewAllowedMask(boolsRand(rng, T*S, 0.8), T, S))} },
		"additive-3d": func(B, H, T, S int) []Mask { return []Mask{must(NewAdditiveMask(randTensor(rng, 1, B*H, T, S)))} },
		"padding+causal": func(B, H, T, S int) []Mask {
			return []Mask{Causal{Align: BottomRight}, must(NewKeyPaddingMask(boolsRand(rng, B*S, 0.9), B, S))}
		},
	}
}

// The fused kernel against the float64 twin at sizes around the tile edges
// (query tiles of tileQ = 64 rows rounded up to whole micro-tiles: 66 with
// AVX2, 70 with AVX-512, 64 in pure Go; key tiles of tileK = 256), with
// every mask kind, GQA, key splitting (one head,
// a few queries, many keys) and NaN guard bands around output and weights.
// Tolerance 2e-6 relative, as for the reference path (see
// TestSDPAMatchesFloat64Twin): tiling changes the summation order, not the
// error's order of magnitude.
func TestFusedMatchesTwinAtTileEdges(t *testing.T) {
	const tol = 2e-6
	rng := rand.New(rand.NewPCG(21, 22))
	kinds := edgeMaskKinds(rng)
	shapes := []struct{ B, H, Hkv, T, S, Dh, Dv int }{
		{1, 1, 1, 1, 1, 8, 8},
		{1, 2, 1, 63, 65, 16, 8},
		{2, 2, 2, 64, 64, 64, 64},
		{1, 3, 3, 65, 129, 32, 40},
		{1, 4, 2, 130, 127, 8, 8},
		{1, 2, 2, 255, 257, 16, 16}, // around the key tile (256)
		{1, 2, 1, 66, 67, 64, 64},   // one AVX2 query tile (66 rows), and one more
		{1, 1, 1, 133, 300, 24, 32}, // two AVX2 query tiles and a row; keys past a key tile
		{1, 1, 1, 1, 2100, 64, 64},  // decode: key range split across workers
		{1, 1, 1, 8, 1100, 16, 16},  // packed keys with the key split, then the weights pass over the whole range
		{1, 1, 1, 3, 1777, 16, 16},
		// GQA with fewer queries than a tile: the group's heads stacked
		{1, 6, 2, 1, 2100, 64, 64}, // one row per head (3 < MR), key split
		{2, 4, 1, 1, 700, 8, 8},    // MQA, 4 rows
		{1, 8, 2, 3, 300, 16, 16},  // 12 stacked rows: the packed path
		{1, 4, 2, 40, 70, 64, 64},  // 80 stacked rows: two query tiles
	}
	for _, sh := range shapes {
		for _, name := range slices.Sorted(maps.Keys(kinds)) {
			mk := kinds[name]
			t.Run(fmt.Sprintf("%s/B=%d,H=%d,Hkv=%d,T=%d,S=%d,Dh=%d,Dv=%d", name, sh.B, sh.H, sh.Hkv, sh.T, sh.S, sh.Dh, sh.Dv), func(t *testing.T) {
				q := randTensor(rng, 1, sh.B, sh.H, sh.T, sh.Dh)
				k := randTensor(rng, 1, sh.B, sh.Hkv, sh.S, sh.Dh)
				v := randTensor(rng, 1, sh.B, sh.Hkv, sh.S, sh.Dv)
				masks := mk(sh.B, sh.H, sh.T, sh.S)
				out, obuf := guarded(sh.B, sh.H, sh.T, sh.Dv)
				w, wbuf := guarded(sh.B, sh.H, sh.T, sh.S)
				if err := ScaledDotProduct(out, q, k, v, Options{Masks: masks, Weights: w}); err != nil {
					t.Fatal(err)
				}
				checkGuards(t, out, obuf)
				checkGuards(t, w, wbuf)
				wantO, wantW := sdpa64(q, k, v, 0, masks)
				numcheck.CheckRel(t, "output", out.Values(), wantO, tol)
				numcheck.CheckRel(t, "weights", w.Values(), wantW, tol)
				// Without weights the output must be bitwise the same.
				plain := tensor.Must(tensor.New(sh.B, sh.H, sh.T, sh.Dv))
				if err := ScaledDotProduct(plain, q, k, v, Options{Masks: masks}); err != nil {
					t.Fatal(err)
				}
				got := out.Values()
				for i, x := range plain.Data() {
					if x != got[i] && !(x == 0 && got[i] == 0) {
						t.Fatalf("output %d differs with and without weights: %v vs %v", i, got[i], x)
					}
				}
			})
		}
	}
}

func randLengths(rng *rand.Rand, B, S int) []int {
	l := make([]int, B)
	for b := range l {
		l[b] = rng.IntN(S + 1)
	}
	return l
}

// The fused path keeps its scratch in pools: after warm-up a call does not
// allocate, with or without masks, for prefill and for decode (key split).
func TestFusedSteadyStateDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	rng := rand.New(rand.NewPCG(31, 32))
	for _, c := range []struct{ H, T, S int }{{4, 130, 300}, {1, 1, 2000}} {
		q := randTensor(rng, 1, 1, c.H, c.T, 64)
		k := randTensor(rng, 1, 1, c.H, c.S, 64)
		v := randTensor(rng, 1, 1, c.H, c.S, 64)
		out := tensor.Must(tensor.New(1, c.H, c.T, 64))
		opt := Options{Masks: []Mask{Causal{Align: BottomRight}, KeyLengths{c.S - 3}}}
		if err := ScaledDotProduct(out, q, k, v, opt); err != nil {
			t.Fatal(err)
		}
		if a := testing.AllocsPerRun(20, func() { _ = ScaledDotProduct(out, q, k, v, opt) }); a != 0 {
			t.Errorf("H=%d T=%d S=%d: %v allocations per call", c.H, c.T, c.S, a)
		}
	}
}

// Numerics under stress: huge logits, all-equal scores, single query or key,
// subnormal inputs. Both paths must give finite outputs that agree with the
// float64 twin; scores that overflow float32 must be an error, never NaN.
func TestStressedNumerics(t *testing.T) {
	const tol = 2e-6
	B, H, T, S, D := 1, 2, 5, 7, 8
	fillT := func(shape []int, f func(i int) float32) *tensor.Tensor {
		x := tensor.Must(tensor.New(shape...))
		for i := range x.Data() {
			x.Data()[i] = f(i)
		}
		return x
	}
	rng := rand.New(rand.NewPCG(41, 42))
	normal := func(scale float64) func(int) float32 {
		return func(int) float32 { return float32(rng.NormFloat64() * scale) }
	}
	cases := []struct {
		name       string
		T, S       int
		q, k, v    func(int) float32
		wantErrSub string
		// subnormal outputs carry fewer significant bits: compare them in
		// absolute terms, within two units of the smallest subnormal (2^-149)
		subnormal bool
	}{
		{name: "logits about 1e4", T: T, S: S, q: normal(40), k: normal(40), v: normal(1)},
		{name: "all-equal scores", T: T, S: S, q: func(int) float32 { return 1 }, k: func(int) float32 { return 1 }, v: normal(1)},
		{name: "T=1 S=1", T: 1, S: 1, q: normal(1), k: normal(1), v: normal(1)},
		{name: "subnormal inputs", T: T, S: S, q: func(i int) float32 { return float32(i%3) * 1e-40 }, k: normal(1e-39), v: func(i int) float32 { return 1e-41 * float32(i%5) }, subnormal: true},
		{name: "scores overflow", T: T, S: S, q: func(int) float32 { return 3e38 }, k: func(int) float32 { return 3e38 }, v: normal(1), wantErrSub: "overflowed float32"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := fillT([]int{B, H, c.T, D}, c.q)
			k := fillT([]int{B, H, c.S, D}, c.k)
			v := fillT([]int{B, H, c.S, D}, c.v)
			var masks []Mask
			if c.T > 1 {
				masks = []Mask{Causal{Align: BottomRight}}
			}
			for _, path := range sdpaPaths {
				out := tensor.Must(tensor.New(B, H, c.T, D))
				err := path.fn(out, q, k, v, Options{Masks: masks})
				if c.wantErrSub != "" {
					if err == nil || !strings.Contains(err.Error(), c.wantErrSub) {
						t.Fatalf("%s: err = %v, want %q", path.name, err, c.wantErrSub)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", path.name, err)
				}
				want, _ := sdpa64(q, k, v, 0, masks)
				b := numcheck.Tol(tol)
				if c.subnormal {
					b = numcheck.Bound{Rel: math.Inf(1), MaxAbs: 0x1p-148}
				}
				numcheck.Check(t, path.name, numcheck.Measure(out.Data(), want), b)
			}
		})
	}
}

// The decode shapes above must really take the key-split path.
func TestDecodeShapesSplit(t *testing.T) {
	if parallel.Workers() < 2 {
		t.Skip("one worker: the key range is never split")
	}
	for _, S := range []int{1777, 2100} {
		if splits := planSplits(S, 1); splits < 2 {
			t.Fatalf("S=%d: %d splits, want >= 2", S, splits)
		}
	}
}
