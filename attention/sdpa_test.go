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
	"github.com/attn-go/attn/tensor"
)

// sdpaPaths are the implementations every SDPA test runs: the fused kernel
// and its reference twin.
var sdpaPaths = []struct {
	name string
	fn   func(out, q, k, v *tensor.Tensor, opt Options) error
}{{"fused", ScaledDotProduct}, {"reference", ScaledDotProductRef}}

func randTensor(rng *rand.Rand, scale float64, shape ...int) *tensor.Tensor {
	t := tensor.Must(tensor.New(shape...))
	for i := range t.Data() {
		t.Data()[i] = float32(rng.NormFloat64() * scale)
	}
	return t
}

func widen(t *tensor.Tensor) operand[float64] {
	d := make([]float64, len(t.Data()))
	for i, x := range t.Data() {
		d[i] = float64(x)
	}
	return operand[float64]{data: d, off: t.Offset(), sb: t.Stride(0), sh: t.Stride(1), st: t.Stride(2)}
}

// sdpa64 runs the float64 twin on the float32 inputs and returns the output
// [B,H,T,Dv] and weights [B,H,T,S], contiguous.
func sdpa64(q, k, v *tensor.Tensor, scale float64, masks []Mask) (out, w []float64) {
	B, H, T, Dh := q.Dim(0), q.Dim(1), q.Dim(2), q.Dim(3)
	Hkv, S, Dv := k.Dim(1), k.Dim(2), v.Dim(3)
	if scale == 0 {
		scale = 1 / math.Sqrt(float64(Dh))
	}
	out = make([]float64, B*H*T*Dv)
	w = make([]float64, B*H*T*S)
	o := operand[float64]{data: out, sb: H * T * Dv, sh: T * Dv, st: Dv}
	wo := operand[float64]{data: w, sb: H * T * S, sh: T * S, st: S}
	sdpaCore(Dims{B, H, T, S}, Hkv, Dh, Dv, scale, widen(q), widen(k), widen(v), o, wo, nil, nil, masks, Dropout{})
	return out, w
}

// checkRel logs the errors of got against want and holds the relative
// error to tol (numcheck: NaN, Inf or a length mismatch fail).
func checkRel[G, R numcheck.Float](t *testing.T, what string, got []G, want []R, tol float64) bool {
	t.Helper()
	e := numcheck.Measure(got, want)
	t.Logf("%s: %v", what, e)
	return numcheck.Check(t, what, e, numcheck.Tol(tol))
}

// checkAddedTwice holds got, the gradient after a second call into the same
// buffers, to twice first, the gradient of the first call, within tol
// relative: a backward adds (overwriting, or not writing, gives 0.5).
func checkAddedTwice(t *testing.T, what string, got, first []float32, tol float64) {
	t.Helper()
	twice := make([]float64, len(first))
	for i, x := range first {
		twice[i] = 2 * float64(x)
	}
	numcheck.CheckRel(t, what+": a second call did not add the same gradient again", got, twice, tol)
}

func boolsRand(rng *rand.Rand, n int, pTrue float64) []bool {
	b := make([]bool, n)
	for i := range b {
		b[i] = rng.Float64() < pTrue
	}
	return b
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// The float32 reference must stay within float32 rounding of the float64
// twin. Bound: scores are Dh-term dot products of N(0,1) data summed in
// order (relative error about sqrt(Dh)·2^-24 on average), then exp and a
// normalising sum over S terms, then an S-term weighted sum. For the sizes
// here (Dh, S <= 100) a relative error below 2e-6 (about 32 float32 ulps)
// holds with a wide margin; a real indexing bug gives errors near 1.
func TestSDPAMatchesFloat64Twin(t *testing.T) {
	const tol = 2e-6
	rng := rand.New(rand.NewPCG(1, 2))
	type tc struct {
		B, H, Hkv, T, S, Dh, Dv int
		masks                   func(B, H, T, S int) []Mask
	}
	none := func(B, H, T, S int) []Mask { return nil }
	cases := map[string]tc{
		"plain-1":        {1, 1, 1, 1, 1, 1, 1, none},
		"plain-odd":      {2, 3, 3, 7, 13, 15, 17, none},
		"plain-64":       {1, 2, 2, 65, 63, 64, 64, none},
		"gqa":            {2, 6, 2, 9, 9, 8, 8, none},
		"mqa":            {1, 4, 1, 5, 16, 8, 3, none},
		"causal-tl":      {2, 2, 2, 17, 17, 8, 8, func(B, H, T, S int) []Mask { return []Mask{Causal{}} }},
		"causal-tl-rect": {1, 2, 2, 7, 16, 8, 8, func(B, H, T, S int) []Mask { return []Mask{Causal{}} }},
		"causal-br":      {1, 2, 2, 3, 16, 8, 8, func(B, H, T, S int) []Mask { return []Mask{Causal{Align: BottomRight}} }},
		"window":         {1, 1, 1, 20, 20, 4, 4, func(B, H, T, S int) []Mask { return []Mask{SlidingWindow{Size: 5}} }},
		"key-lengths": {3, 2, 2, 7, 9, 8, 8, func(B, H, T, S int) []Mask {
			return []Mask{KeyLengths{9, 1, 4}}
		}},
		"bool-2d": {2, 2, 2, 7, 9, 8, 8, func(B, H, T, S int) []Mask {
			return []Mask{must(NewAllowedMask(boolsRand(rng, T*S, 0.7), T, S))}
		}},
		"bool-3d": {2, 3, 3, 7, 9, 8, 8, func(B, H, T, S int) []Mask {
			return []Mask{must(NewAllowedMask(boolsRand(rng, B*H*T*S, 0.7), B*H, T, S))}
		}},
		"bool-4d-per-batch": {3, 2, 2, 5, 6, 8, 8, func(B, H, T, S int) []Mask {
			return []Mask{must(NewAllowedMask(boolsRand(rng, B*T*S, 0.7), B, 1, T, S))}
		}},
		"additive-3d-and-padding": {2, 2, 2, 7, 9, 8, 8, func(B, H, T, S int) []Mask {
			add := randTensor(rng, 2, B*H, T, S)
			add.Data()[3] = float32(math.Inf(-1))
			return []Mask{must(NewAdditiveMask(add)), must(NewKeyPaddingMask(boolsRand(rng, B*S, 0.8), B, S))}
		}},
		"torch-adapters": {2, 2, 2, 4, 5, 8, 8, func(B, H, T, S int) []Mask {
			return []Mask{must(TorchAttnMask(boolsRand(rng, T*S, 0.3), T, S)), must(TorchKeyPaddingMask([]bool{false, false, false, true, true, false, false, false, false, false}, B, S))}
		}},
	}
	for _, name := range slices.Sorted(maps.Keys(cases)) { // sorted: the same draws every run
		c := cases[name]
		t.Run(name, func(t *testing.T) {
			q := randTensor(rng, 1, c.B, c.H, c.T, c.Dh)
			k := randTensor(rng, 1, c.B, c.Hkv, c.S, c.Dh)
			v := randTensor(rng, 1, c.B, c.Hkv, c.S, c.Dv)
			masks := c.masks(c.B, c.H, c.T, c.S)
			wantO, wantW := sdpa64(q, k, v, 0, masks)
			for _, path := range sdpaPaths {
				out := tensor.Must(tensor.New(c.B, c.H, c.T, c.Dv))
				w := tensor.Must(tensor.New(c.B, c.H, c.T, c.S))
				if err := path.fn(out, q, k, v, Options{Masks: masks, Weights: w}); err != nil {
					t.Fatal(err)
				}
				numcheck.CheckRel(t, path.name+": output", out.Data(), wantO, tol)
				numcheck.CheckRel(t, path.name+": weights", w.Data(), wantW, tol)
				checkWeightRows(t, w, true)
			}
		})
	}
}

// checkWeightRows asserts every weight row is non-negative and sums to 1
// within float32 rounding, or is all zero (fully masked) when allowed.
func checkWeightRows(t *testing.T, w *tensor.Tensor, zeroRowsOK bool) {
	t.Helper()
	S := w.Dim(w.Rank() - 1)
	d := w.Values()
	for r := 0; r < len(d)/max(S, 1); r++ {
		var sum float64
		for _, x := range d[r*S : (r+1)*S] {
			if numcheck.Below(float64(x), 0) {
				t.Fatalf("row %d has weight %v", r, x)
			}
			sum += float64(x)
		}
		if sum == 0 && zeroRowsOK {
			continue
		}
		// S float32 values each within half an ulp: |sum-1| <= S·2^-24 + slack.
		if numcheck.Exceeds(math.Abs(sum-1), float64(S+4)*0x1p-24) {
			t.Fatalf("row %d sums to %.9f", r, sum)
		}
	}
}

// The masks must allow exactly the keys their documentation says.
func TestMaskSemantics(t *testing.T) {
	type tc struct {
		mask    Mask
		d       Dims
		allowed func(b, h, i, j int) bool
	}
	B, H, T, S := 2, 3, 4, 6
	d := Dims{B, H, T, S}
	rng := rand.New(rand.NewPCG(3, 4))
	al3 := boolsRand(rng, B*H*T*S, 0.5)
	al4 := boolsRand(rng, B*T*S, 0.5)
	pad := boolsRand(rng, B*S, 0.5)
	cases := map[string]tc{
		"causal top-left":     {Causal{}, d, func(b, h, i, j int) bool { return j <= i }},
		"causal bottom-right": {Causal{Align: BottomRight}, d, func(b, h, i, j int) bool { return j <= i+S-T }},
		"causal bottom-right T>S": {Causal{Align: BottomRight}, Dims{1, 1, 6, 4}, func(b, h, i, j int) bool {
			return j <= i-2
		}},
		"window 3": {SlidingWindow{Size: 3}, d, func(b, h, i, j int) bool { return j <= i && j > i-3 }},
		"window 2 bottom-right": {SlidingWindow{Size: 2, Align: BottomRight}, d, func(b, h, i, j int) bool {
			return j <= i+2 && j > i
		}},
		"key lengths": {KeyLengths{2, 6}, d, func(b, h, i, j int) bool { return j < []int{2, 6}[b] }},
		"allowed 3-D b*H+h": {must(NewAllowedMask(al3, B*H, T, S)), d, func(b, h, i, j int) bool {
			return al3[((b*H+h)*T+i)*S+j]
		}},
		"allowed 4-D per batch": {must(NewAllowedMask(al4, B, 1, T, S)), d, func(b, h, i, j int) bool {
			return al4[(b*T+i)*S+j]
		}},
		"torch attn_mask true=masked": {must(TorchAttnMask(al3, B*H, T, S)), d, func(b, h, i, j int) bool {
			return !al3[((b*H+h)*T+i)*S+j]
		}},
		"key padding valid": {must(NewKeyPaddingMask(pad, B, S)), d, func(b, h, i, j int) bool { return pad[b*S+j] }},
		"torch key padding true=pad": {must(TorchKeyPaddingMask(pad, B, S)), d, func(b, h, i, j int) bool {
			return !pad[b*S+j]
		}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if err := c.mask.validate(c.d); err != nil {
				t.Fatal(err)
			}
			row := make([]float32, c.d.S)
			for b := 0; b < c.d.B; b++ {
				for h := 0; h < c.d.H; h++ {
					for i := 0; i < c.d.T; i++ {
						clear(row)
						applyMasks([]Mask{c.mask}, c.d, b, h, i, row)
						for j, s := range row {
							got := !math.IsInf(float64(s), -1)
							if want := c.allowed(b, h, i, j); got != want {
								t.Fatalf("b=%d h=%d i=%d j=%d: allowed=%v, want %v", b, h, i, j, got, want)
							}
						}
					}
				}
			}
		})
	}
}

// A fully masked row gives zero weights and a zero output row, never NaN,
// in every mask kind that can produce one.
func TestFullyMaskedRowsAreZero(t *testing.T) {
	B, H, T, S, Dh := 2, 2, 3, 4, 8
	rng := rand.New(rand.NewPCG(5, 6))
	allFalse := make([]bool, T*S)
	cases := map[string][]Mask{
		"key lengths zero":   {KeyLengths{0, 4}},
		"allowed all false":  {must(NewAllowedMask(allFalse, T, S))},
		"additive all -inf":  {must(NewAdditiveMask(tensor.Must(tensor.FromSlice(fill(T*S, float32(math.Inf(-1))), T, S))))},
		"window past length": {SlidingWindow{Size: 1}, KeyLengths{1, 1}}, // rows i >= 1 see only key i, which is padding
		"disjoint masks":     {Causal{}, must(NewKeyPaddingMask([]bool{false, true, true, true, false, true, true, true}, B, S))},
	}
	for _, name := range slices.Sorted(maps.Keys(cases)) { // sorted: the same draws every run
		masks := cases[name]
		t.Run(name, func(t *testing.T) {
			q := randTensor(rng, 1, B, H, T, Dh)
			k := randTensor(rng, 1, B, H, S, Dh)
			v := randTensor(rng, 1, B, H, S, Dh)
			for _, path := range sdpaPaths {
				out := tensor.Must(tensor.New(B, H, T, Dh))
				w := tensor.Must(tensor.New(B, H, T, S))
				if err := path.fn(out, q, k, v, Options{Masks: masks, Weights: w}); err != nil {
					t.Fatal(err)
				}
				wantO, wantW := sdpa64(q, k, v, 0, masks)
				zeroRows := 0
				for r := 0; r < B*H*T; r++ {
					allZero := true
					for _, x := range wantW[r*S : (r+1)*S] {
						allZero = allZero && x == 0
					}
					if !allZero {
						continue
					}
					zeroRows++
					for c, x := range out.Data()[r*Dh : (r+1)*Dh] {
						if x != 0 || wantO[r*Dh+c] != 0 {
							t.Fatalf("fully masked row %d: output %v, want 0", r, x)
						}
					}
					for _, x := range w.Data()[r*S : (r+1)*S] {
						if x != 0 {
							t.Fatalf("fully masked row %d: weight %v, want 0", r, x)
						}
					}
				}
				if zeroRows == 0 {
					t.Fatal("case has no fully masked row; it tests nothing")
				}
				checkWeightRows(t, w, true)
			}
		})
	}
}

func fill(n int, v float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// Q, K and V read through strided views of a [B,T,H,Dh] buffer must give the
// same numbers, bit for bit, as contiguous [B,H,T,Dh] copies. The buffer is
// a fused projection's output, [B, T, H+2·Hkv, Dh]: q, k and v side by side
// per position, as the decoders lay them out. With grouped-query attention
// and one query (decoding) the group's heads are stacked into one tile along
// the head stride; with a few queries in this layout they cannot be.
func TestSDPAStridedViews(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, c := range []struct{ B, T, H, Hkv, Dh int }{
		{2, 5, 3, 3, 4},
		{2, 1, 6, 2, 8},   // stacked: one row per head
		{1, 1, 12, 4, 64}, // stacked, the packed path
		{2, 3, 4, 2, 8},   // three queries per head, heads not contiguous: not stacked
	} {
		t.Run(fmt.Sprintf("B=%d,T=%d,H=%d,Hkv=%d,Dh=%d", c.B, c.T, c.H, c.Hkv, c.Dh), func(t *testing.T) {
			buf := randTensor(rng, 1, c.B, c.T, c.H+2*c.Hkv, c.Dh)
			view := func(h0, n int) *tensor.Tensor {
				s := must(buf.Narrow(2, h0, n))    // [B,T,n,Dh], row stride (H+2Hkv)·Dh
				return must(s.Permute(0, 2, 1, 3)) // [B,n,T,Dh]
			}
			q, k, v := view(0, c.H), view(c.H, c.Hkv), view(c.H+c.Hkv, c.Hkv)
			outBuf := tensor.Must(tensor.New(c.B, c.T, c.H, c.Dh))
			out := must(outBuf.Permute(0, 2, 1, 3))
			opt := Options{Masks: []Mask{Causal{Align: BottomRight}}}
			if err := ScaledDotProduct(out, q, k, v, opt); err != nil {
				t.Fatal(err)
			}
			want := tensor.Must(tensor.New(c.B, c.H, c.T, c.Dh))
			if err := ScaledDotProduct(want, q.Clone(), k.Clone(), v.Clone(), opt); err != nil {
				t.Fatal(err)
			}
			got := out.Values()
			for i, x := range want.Values() {
				if got[i] != x {
					t.Fatalf("element %d: strided %v, contiguous %v", i, got[i], x)
				}
			}
			ref, _ := sdpa64(q, k, v, 0, opt.Masks)
			numcheck.CheckRel(t, "strided output against the float64 twin", got, ref, 2e-6)
		})
	}
}

func TestSDPAScaleOverride(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	q := randTensor(rng, 1, 1, 1, 3, 4)
	k := randTensor(rng, 1, 1, 1, 3, 4)
	v := randTensor(rng, 1, 1, 1, 3, 4)
	out := tensor.Must(tensor.New(1, 1, 3, 4))
	if err := ScaledDotProduct(out, q, k, v, Options{Scale: 0.25}); err != nil {
		t.Fatal(err)
	}
	want, _ := sdpa64(q, k, v, 0.25, nil)
	numcheck.RequireRel(t, "output with scale 0.25", out.Data(), want, 1e-6)
	wantDefault, _ := sdpa64(q, k, v, 0, nil)
	if e := numcheck.Measure(out.Data(), wantDefault); numcheck.Below(e.Rel, 1e-3) {
		t.Fatalf("scale 0.25 gave the same result as the default 1/sqrt(4)=0.5 (%v)", e)
	}
}

// Dropout is counter-based: the same seed drops the same weights in both
// paths, another seed drops others, the kept weights are scaled by
// 1/(1-p), the drop rate is p, and Kept tells which weights survive.
func TestDropoutSeeded(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	B, H, T, S, Dh := 1, 2, 16, 16, 4
	d := Dims{B, H, T, S}
	q := randTensor(rng, 1, B, H, T, Dh)
	k := randTensor(rng, 1, B, H, S, Dh)
	v := randTensor(rng, 1, B, H, S, Dh)
	run := func(fn func(out, q, k, v *tensor.Tensor, opt Options) error, seed uint64, p float64) (*tensor.Tensor, *tensor.Tensor) {
		out := tensor.Must(tensor.New(B, H, T, Dh))
		w := tensor.Must(tensor.New(B, H, T, S))
		if err := fn(out, q, k, v, Options{Weights: w, Dropout: Dropout{P: p, Seed: seed}}); err != nil {
			t.Fatal(err)
		}
		return out, w
	}
	plain := tensor.Must(tensor.New(B, H, T, Dh))
	pw := tensor.Must(tensor.New(B, H, T, S))
	if err := ScaledDotProduct(plain, q, k, v, Options{Weights: pw}); err != nil {
		t.Fatal(err)
	}
	drop := Dropout{P: 0.25, Seed: 1}
	oa, a := run(ScaledDotProduct, 1, 0.25)
	_, b := run(ScaledDotProduct, 1, 0.25)
	or, r := run(ScaledDotProductRef, 1, 0.25)
	_, c := run(ScaledDotProduct, 2, 0.25)
	same, differ, zeros := true, false, 0
	for i, x := range a.Data() {
		same = same && x == b.Data()[i]
		differ = differ || x != c.Data()[i]
		idx := tensor.Unravel(i, a.Shape())
		if kept := drop.Kept(d, idx[0], idx[1], idx[2], idx[3]); kept != (x != 0) {
			t.Fatalf("weight %v = %v but Kept says %v", idx, x, kept)
		}
		if (r.Data()[i] == 0) != (x == 0) || numcheck.Exceeds(math.Abs(float64(r.Data()[i]-x)), 1e-6) {
			t.Fatalf("weight %v: fused %v, reference %v", idx, x, r.Data()[i])
		}
		if x == 0 {
			zeros++
		} else if want := pw.Data()[i] / 0.75; numcheck.Exceeds(math.Abs(float64(x-want)), 1e-6*math.Abs(float64(want))) {
			t.Fatalf("kept weight %v, want %v scaled by 1/(1-p)", x, want)
		}
	}
	if !same || !differ {
		t.Fatalf("same seed same mask: %v; other seed different mask: %v", same, differ)
	}
	// 512 draws at p = 0.25: mean 128, sd ≈ 9.8; ±5 sd.
	if zeros < 79 || zeros > 177 {
		t.Fatalf("%d of 512 weights dropped at p=0.25", zeros)
	}
	// The fused output is the dropped weights times V, as the reference's.
	numcheck.RequireRel(t, "fused against reference output with dropout", oa.Data(), or.Data(), 2e-6)
	// A large sample for the rate: 10^6 indices at p = 0.3, sd ≈ 458.
	p3 := Dropout{P: 0.3, Seed: 99}
	n := 0
	for j := 0; j < 1000000; j++ {
		if !p3.Kept(Dims{1, 1, 1, 1000000}, 0, 0, 0, j) {
			n++
		}
	}
	if n < 300000-5*458 || n > 300000+5*458 {
		t.Fatalf("%d of 10^6 dropped at p=0.3", n)
	}
}

func TestSDPABadInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	q := randTensor(rng, 1, 2, 4, 3, 8)
	k := randTensor(rng, 1, 2, 4, 5, 8)
	v := randTensor(rng, 1, 2, 4, 5, 6)
	out := tensor.Must(tensor.New(2, 4, 3, 6))
	nanQ := q.Clone()
	nanQ.Set(float32(math.NaN()), 1, 2, 0, 3)
	transposed := must(q.Clone().Permute(0, 1, 3, 2))
	cases := []struct {
		name          string
		out, q, k, v  *tensor.Tensor
		opt           Options
		wantSubstring string
	}{
		{"nil query", out, nil, k, v, Options{}, "query is nil"},
		{"rank 3 query", out, randTensor(rng, 1, 2, 3, 8), k, v, Options{}, "want rank 4"},
		{"key head dim", out, q, randTensor(rng, 1, 2, 4, 5, 7), v, Options{}, "key has shape [2 4 5 7], want [B=2 Hkv=4 S=5 Dh=8]"},
		{"key batch", out, q, randTensor(rng, 1, 1, 4, 5, 8), v, Options{}, "key has shape [1 4 5 8]"},
		{"heads not dividing", out, q, randTensor(rng, 1, 2, 3, 5, 8), randTensor(rng, 1, 2, 3, 5, 6), Options{}, "does not divide the 4 query heads"},
		{"value length", out, q, k, randTensor(rng, 1, 2, 4, 4, 6), Options{}, "value has shape [2 4 4 6]"},
		{"output shape", tensor.Must(tensor.New(2, 4, 3, 8)), q, k, v, Options{}, "output has shape [2 4 3 8], want [B=2 H=4 T=3 Dv=6]"},
		{"weights shape", out, q, k, v, Options{Weights: tensor.Must(tensor.New(2, 4, 3, 4))}, "weights has shape"},
		{"NaN query", out, nanQ, k, v, Options{}, "query has NaN at index [1 2 0 3]"},
		{"inner stride", out, transposed, k, v, Options{}, "innermost stride"},
		{"NaN scale", out, q, k, v, Options{Scale: float32(math.NaN())}, "scale is NaN"},
		{"mask 2-D wrong T", out, q, k, v, Options{Masks: []Mask{must(NewAllowedMask(make([]bool, 20), 4, 5))}}, "want its last two dimensions [T=3 S=5]"},
		{"mask 3-D wrong N", out, q, k, v, Options{Masks: []Mask{must(NewAllowedMask(make([]bool, 45), 3, 3, 5))}}, "want [B*H=8 T=3 S=5]"},
		{"mask 4-D wrong H", out, q, k, v, Options{Masks: []Mask{must(NewAllowedMask(make([]bool, 2*3*3*5), 2, 3, 3, 5))}}, "H=4 or 1"},
		{"key padding wrong S", out, q, k, v, Options{Masks: []Mask{must(NewKeyPaddingMask(make([]bool, 8), 2, 4))}}, "want [B=2 S=5]"},
		{"key lengths count", out, q, k, v, Options{Masks: []Mask{KeyLengths{1}}}, "want B=2"},
		{"key lengths range", out, q, k, v, Options{Masks: []Mask{KeyLengths{1, 6}}}, "outside [0, S=5]"},
		{"window zero", out, q, k, v, Options{Masks: []Mask{SlidingWindow{}}}, "window size is 0"},
		{"nil mask", out, q, k, v, Options{Masks: []Mask{nil}}, "mask 0 is nil"},
		{"dropout 1", out, q, k, v, Options{Dropout: Dropout{P: 1, Seed: 1}}, "outside [0, 1)"},
		{"lse shape", out, q, k, v, Options{LSE: tensor.Must(tensor.New(2, 4, 4))}, "lse has shape [2 4 4], want [B=2 H=4 T=3]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := ScaledDotProduct(c.out, c.q, c.k, c.v, c.opt)
			if err == nil || !strings.Contains(err.Error(), c.wantSubstring) {
				t.Fatalf("err = %v, want it to contain %q", err, c.wantSubstring)
			}
		})
	}
}

func TestMaskConstructorErrors(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"allowed wrong count", errOf(NewAllowedMask(make([]bool, 5), 2, 3)), "has 5 values, shape [2 3] needs 6"},
		{"allowed rank 1", errOf(NewAllowedMask(make([]bool, 5), 5)), "want [T S], [B*H T S] or [B H T S]"},
		{"allowed rank 5", errOf(NewAllowedMask(make([]bool, 1), 1, 1, 1, 1, 1)), "want [T S]"},
		{"negative dim", errOf(NewAllowedMask(nil, -1, 3)), "negative"},
		{"additive NaN", errOf(NewAdditiveMask(tensor.Must(tensor.FromSlice([]float32{0, float32(math.NaN())}, 1, 2)))), "NaN at index [0 1]"},
		{"additive +Inf", errOf(NewAdditiveMask(tensor.Must(tensor.FromSlice([]float32{float32(math.Inf(1)), 0}, 1, 2)))), "+Inf at index [0 0]"},
		{"additive nil", errOf(NewAdditiveMask(nil)), "nil"},
		{"key padding count", errOf(NewKeyPaddingMask(make([]bool, 3), 2, 2)), "has 3 values"},
	}
	for _, c := range cases {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, c.err, c.want)
		}
	}
}

func errOf[T any](_ T, err error) error { return err }

func TestMaskStrings(t *testing.T) {
	got := fmt.Sprint([]Mask{Causal{}, Causal{Align: BottomRight}, SlidingWindow{Size: 4}, KeyLengths{1, 2}})
	want := "[causal(top-left) causal(bottom-right) sliding-window(4, top-left) key-lengths[1 2]]"
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

// NaN in a key that every query's mask excludes never reaches the result:
// no error, and the same output as with a finite key there. NaN in an
// allowed key is an error naming it, in both paths.
func TestNaNInMaskedKeyIsHarmless(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	q := randTensor(rng, 1, 1, 2, 5, 8)
	k := randTensor(rng, 1, 1, 2, 70, 8)
	v := randTensor(rng, 1, 1, 2, 70, 8)
	masks := []Mask{KeyLengths{69}}
	for _, path := range sdpaPaths {
		want := tensor.Must(tensor.New(1, 2, 5, 8))
		if err := path.fn(want, q, k, v, Options{Masks: masks}); err != nil {
			t.Fatal(err)
		}
		kn, vn := k.Clone(), v.Clone()
		kn.Set(float32(math.NaN()), 0, 1, 69, 3)
		vn.Set(float32(math.Inf(1)), 0, 0, 69, 0)
		got := tensor.Must(tensor.New(1, 2, 5, 8))
		if err := path.fn(got, q, kn, vn, Options{Masks: masks}); err != nil {
			t.Fatalf("%s: %v", path.name, err)
		}
		for i, x := range want.Data() {
			if got.Data()[i] != x {
				t.Fatalf("%s: element %d changed: %v vs %v", path.name, i, got.Data()[i], x)
			}
		}
		if err := path.fn(got, q, kn, vn, Options{}); err == nil || !strings.Contains(err.Error(), "key has NaN at index [0 1 69 3]") {
			t.Fatalf("%s: unmasked NaN key: err = %v", path.name, err)
		}
	}
}
