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

// bwdCase is one SDPA gradient check: sizes, masks, dropout, scale.
type bwdCase struct {
	B, H, Hkv, T, S, Dh, Dv int
	masks                   []Mask
	drop                    Dropout
	scale                   float64 // 0: 1/sqrt(Dh)
}

// inputs64 draws q, k, v and dout of the case's shapes.
func (c bwdCase) inputs64(rng *rand.Rand) (q, k, v, dout []float64) {
	return rand64(rng, c.B*c.H*c.T*c.Dh), rand64(rng, c.B*c.Hkv*c.S*c.Dh), rand64(rng, c.B*c.Hkv*c.S*c.Dv), rand64(rng, c.B*c.H*c.T*c.Dv)
}

func (c bwdCase) dims() Dims { return Dims{c.B, c.H, c.T, c.S} }

func (c bwdCase) scale64() float64 {
	if c.scale == 0 {
		return 1 / math.Sqrt(float64(c.Dh))
	}
	return c.scale
}

// op64 addresses a contiguous [B,H,N,X] float64 slice.
func op64(data []float64, H, N, X int) operand[float64] {
	return operand[float64]{data: data, sb: H * N * X, sh: N * X, st: X}
}

// fwd64 is the float64 forward: out [B,H,T,Dv], weights [B,H,T,S], lse.
func (c bwdCase) fwd64(q, k, v []float64) (out, w, lse []float64) {
	out = make([]float64, c.B*c.H*c.T*c.Dv)
	w = make([]float64, c.B*c.H*c.T*c.S)
	lse = make([]float64, c.B*c.H*c.T)
	sdpaCore(c.dims(), c.Hkv, c.Dh, c.Dv, c.scale64(), op64(q, c.H, c.T, c.Dh), op64(k, c.Hkv, c.S, c.Dh), op64(v, c.Hkv, c.S, c.Dv),
		op64(out, c.H, c.T, c.Dv), op64(w, c.H, c.T, c.S), lse, nil, c.masks, c.drop)
	return out, w, lse
}

// bwd64 is the float64 analytic backward; dw may be nil.
func (c bwdCase) bwd64(q, k, v, dout, lse, dw []float64) (dq, dk, dv []float64) {
	dq = make([]float64, len(q))
	dk = make([]float64, len(k))
	dv = make([]float64, len(v))
	var dwo operand[float64]
	if dw != nil {
		dwo = op64(dw, c.H, c.T, c.S)
	}
	sdpaBackwardCore(c.dims(), c.Hkv, c.Dh, c.Dv, c.scale64(), op64(dq, c.H, c.T, c.Dh), op64(dk, c.Hkv, c.S, c.Dh), op64(dv, c.Hkv, c.S, c.Dv),
		op64(dout, c.H, c.T, c.Dv), op64(q, c.H, c.T, c.Dh), op64(k, c.Hkv, c.S, c.Dh), op64(v, c.Hkv, c.S, c.Dv), dwo, lse, nil, c.masks, c.drop)
	return dq, dk, dv
}

// fd64 returns the central finite-difference gradients of
// L = Σ dout∘out + Σ dw∘weights with respect to q, k and v.
//
// Step h = 1e-5: the truncation error is O(h²·L”') ≈ 1e-10 relative, the
// rounding error O(2^-53·|L|/h) ≈ 1e-11·|L|, so the differences are good
// to about 1e-9 relative, far below every tolerance they are held to.
func (c bwdCase) fd64(q, k, v, dout, dw []float64) (dq, dk, dv []float64) {
	loss := func() float64 {
		out, w, _ := c.fwd64(q, k, v)
		var L float64
		for i, x := range out {
			L += dout[i] * x
		}
		for i := range dw {
			L += dw[i] * w[i]
		}
		return L
	}
	return centralDiff(q, loss), centralDiff(k, loss), centralDiff(v, loss)
}

// centralDiff returns dloss/dx by central differences with step 1e-5 (see
// fd64 for why that step), perturbing x in place and restoring it.
func centralDiff(x []float64, loss func() float64) []float64 {
	const h = 1e-5
	g := make([]float64, len(x))
	for i := range x {
		x0 := x[i]
		x[i] = x0 + h
		lp := loss()
		x[i] = x0 - h
		lm := loss()
		x[i] = x0
		g[i] = (lp - lm) / (2 * h)
	}
	return g
}

func rand64(rng *rand.Rand, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = float64(float32(rng.NormFloat64()))
	}
	return x
}

func tensorOf(data []float64, shape ...int) *tensor.Tensor {
	t := tensor.Must(tensor.New(shape...))
	for i, x := range data {
		t.Data()[i] = float32(x)
	}
	return t
}

// bwdPaths are the float32 backward implementations under test: the
// reference, and the fused kernel under each of its two schedules.
var bwdPaths = []struct {
	name     string
	schedule int
	fn       func(dq, dk, dv, dout, q, k, v, out, lse *tensor.Tensor, opt Options) error
}{
	{"reference", 0, ScaledDotProductBackwardRef},
	{"fused-owner", bwdOwner, ScaledDotProductBackward},
	{"fused-two-pass", bwdKeys, ScaledDotProductBackward},
}

// runBwd32 runs the float32 forward (fused, for out and lse) and one
// backward path, with gradients starting at zero.
func runBwd32(t *testing.T, c bwdCase, schedule int, fn func(dq, dk, dv, dout, q, k, v, out, lse *tensor.Tensor, opt Options) error, q, k, v, dout *tensor.Tensor) (dq, dk, dv *tensor.Tensor) {
	t.Helper()
	out := tensor.Must(tensor.New(c.B, c.H, c.T, c.Dv))
	lse := tensor.Must(tensor.New(c.B, c.H, c.T))
	opt := Options{Masks: c.masks, Dropout: c.drop, Scale: float32(c.scale), LSE: lse}
	if err := ScaledDotProduct(out, q, k, v, opt); err != nil {
		t.Fatal(err)
	}
	dq = tensor.Must(tensor.New(c.B, c.H, c.T, c.Dh))
	dk = tensor.Must(tensor.New(c.B, c.Hkv, c.S, c.Dh))
	dv = tensor.Must(tensor.New(c.B, c.Hkv, c.S, c.Dv))
	bwdSchedule = schedule
	defer func() { bwdSchedule = 0 }()
	if err := fn(dq, dk, dv, dout, q, k, v, out, lse, opt); err != nil {
		t.Fatal(err)
	}
	return dq, dk, dv
}

// bwdCases cover every mask kind, GQA and MQA, T != S, fully masked rows,
// dropout and a scale override.
func bwdCases(rng *rand.Rand) map[string]bwdCase {
	B, H, T, S := 2, 4, 5, 7
	return map[string]bwdCase{
		"plain":          {B: 1, H: 2, Hkv: 2, T: 4, S: 4, Dh: 4, Dv: 4},
		"T!=S,Dh!=Dv":    {B: B, H: 2, Hkv: 2, T: T, S: S, Dh: 4, Dv: 3},
		"gqa":            {B: B, H: H, Hkv: 2, T: T, S: S, Dh: 4, Dv: 3},
		"mqa":            {B: 1, H: 3, Hkv: 1, T: T, S: S, Dh: 3, Dv: 5},
		"causal-tl":      {B: B, H: 2, Hkv: 1, T: T, S: S, Dh: 4, Dv: 3, masks: []Mask{Causal{}}},
		"causal-br":      {B: B, H: 2, Hkv: 2, T: T, S: S, Dh: 4, Dv: 3, masks: []Mask{Causal{Align: BottomRight}}},
		"causal-br-T>S":  {B: 1, H: 2, Hkv: 2, T: S, S: T, Dh: 4, Dv: 3, masks: []Mask{Causal{Align: BottomRight}}}, // first rows fully masked
		"window":         {B: 1, H: 2, Hkv: 2, T: S, S: S, Dh: 4, Dv: 3, masks: []Mask{SlidingWindow{Size: 3}}},
		"key-lengths":    {B: 3, H: 2, Hkv: 2, T: T, S: S, Dh: 4, Dv: 3, masks: []Mask{KeyLengths{7, 0, 3}}}, // batch 1 fully masked
		"bool-2d":        {B: B, H: 2, Hkv: 2, T: T, S: S, Dh: 4, Dv: 3, masks: []Mask{must(NewAllowedMask(boolsRand(rng, T*S, 0.6), T, S))}},
		"bool-3d":        {B: B, H: 2, Hkv: 1, T: T, S: S, Dh: 4, Dv: 3, masks: []Mask{must(TorchAttnMask(boolsRand(rng, B*2*T*S, 0.4), B*2, T, S))}},
		"bool-4d":        {B: B, H: 2, Hkv: 2, T: T, S: S, Dh: 4, Dv: 3, masks: []Mask{must(NewAllowedMask(boolsRand(rng, B*T*S, 0.6), B, 1, T, S))}},
		"key-padding":    {B: B, H: 2, Hkv: 2, T: T, S: S, Dh: 4, Dv: 3, masks: []Mask{must(TorchKeyPaddingMask(boolsRand(rng, B*S, 0.3), B, S))}},
		"additive":       {B: B, H: 2, Hkv: 2, T: T, S: S, Dh: 4, Dv: 3, masks: []Mask{must(NewAdditiveMask(withNegInf(randTensor(rng, 2, B*2, T, S), 5)))}},
		"dropout-0.3":    {B: B, H: 2, Hkv: 1, T: T, S: S, Dh: 4, Dv: 3, drop: Dropout{P: 0.3, Seed: 7}},
		"dropout+causal": {B: 1, H: 2, Hkv: 2, T: S, S: S, Dh: 4, Dv: 3, drop: Dropout{P: 0.3, Seed: 8}, masks: []Mask{Causal{}}},
		"scale":          {B: 1, H: 2, Hkv: 2, T: T, S: S, Dh: 4, Dv: 3, scale: 1.7},
	}
}

// withNegInf sets every step-th element of t to -Inf and returns t.
func withNegInf(t *tensor.Tensor, step int) *tensor.Tensor {
	for i := 0; i < len(t.Data()); i += step {
		t.Data()[i] = float32(math.Inf(-1))
	}
	return t
}

// The backward against central finite differences of the float64 forward.
//
// The float64 twin of the reference backward must match them to 1e-7
// relative (the differences are good to about 1e-9, see fd64; measured
// 3e-10). The float32 paths (reference and fused under both schedules)
// must match them to 5e-6 relative. Each gradient is a chain of a few
// float32 dot products of at most 40 terms (about 2^-24·sqrt(n) ≈ 4e-7 of
// rounding each, on average), the weights are exp(s − lse) with lse
// rounded to float32 (half an ulp of |lse| ≈ 4, 2.4e-7 relative on every
// weight of a row), and dS = P∘(dP − D) loses a few bits to cancellation:
// the errors measured are at most 1.4e-6 (the scale-1.7 case, whose larger
// scores give a larger lse). An indexing or masking error is of order 1.
func TestBackwardFiniteDifferences(t *testing.T) {
	const tol64, tol32 = 1e-7, 5e-6
	rng := rand.New(rand.NewPCG(101, 102))
	cases := bwdCases(rng)
	for _, name := range slices.Sorted(maps.Keys(cases)) { // sorted: the same draws every run
		c := cases[name]
		t.Run(name, func(t *testing.T) {
			q, k, v, dout := c.inputs64(rng)
			fq, fk, fv := c.fd64(q, k, v, dout, nil)
			_, _, lse := c.fwd64(q, k, v)
			aq, ak, av := c.bwd64(q, k, v, dout, lse, nil)
			for _, g := range []struct {
				name      string
				got, want []float64
			}{{"dq", aq, fq}, {"dk", ak, fk}, {"dv", av, fv}} {
				checkRel(t, "float64 twin "+g.name+" against finite differences", g.got, g.want, tol64)
			}
			qt, kt, vt := tensorOf(q, c.B, c.H, c.T, c.Dh), tensorOf(k, c.B, c.Hkv, c.S, c.Dh), tensorOf(v, c.B, c.Hkv, c.S, c.Dv)
			dt := tensorOf(dout, c.B, c.H, c.T, c.Dv)
			for _, path := range bwdPaths {
				dq, dk, dv := runBwd32(t, c, path.schedule, path.fn, qt, kt, vt, dt)
				for _, g := range []struct {
					name string
					got  *tensor.Tensor
					want []float64
				}{{"dq", dq, fq}, {"dk", dk, fk}, {"dv", dv, fv}} {
					checkRel(t, path.name+" "+g.name+" against finite differences", g.got.Data(), g.want, tol32)
				}
			}
		})
	}
}

// With a gradient on the returned weights (the multi-head module's
// need_weights path) the reference backward includes it; checked against
// finite differences of L = Σ dout∘out + Σ dw∘weights, with and without
// dropout (the weights returned are after dropout).
func TestBackwardWeightsGradient(t *testing.T) {
	const tol64, tol32 = 1e-7, 5e-6 // as in TestBackwardFiniteDifferences
	rng := rand.New(rand.NewPCG(103, 104))
	cases := bwdCases(rng)
	for _, name := range []string{"gqa", "causal-br-T>S", "bool-3d", "additive", "dropout-0.3"} {
		c := cases[name]
		t.Run(name, func(t *testing.T) {
			q, k, v, dout := c.inputs64(rng)
			dw := rand64(rng, c.B*c.H*c.T*c.S)
			fq, fk, fv := c.fd64(q, k, v, dout, dw)
			_, _, lse := c.fwd64(q, k, v)
			aq, ak, av := c.bwd64(q, k, v, dout, lse, dw)
			for _, g := range [][2][]float64{{aq, fq}, {ak, fk}, {av, fv}} {
				numcheck.CheckRel(t, "float64 twin against finite differences", g[0], g[1], tol64)
			}
			qt, kt, vt := tensorOf(q, c.B, c.H, c.T, c.Dh), tensorOf(k, c.B, c.Hkv, c.S, c.Dh), tensorOf(v, c.B, c.Hkv, c.S, c.Dv)
			out := tensor.Must(tensor.New(c.B, c.H, c.T, c.Dv))
			lse32 := tensor.Must(tensor.New(c.B, c.H, c.T))
			opt := Options{Masks: c.masks, Dropout: c.drop, LSE: lse32}
			if err := ScaledDotProduct(out, qt, kt, vt, opt); err != nil {
				t.Fatal(err)
			}
			dq := tensor.Must(tensor.New(c.B, c.H, c.T, c.Dh))
			dk := tensor.Must(tensor.New(c.B, c.Hkv, c.S, c.Dh))
			dv := tensor.Must(tensor.New(c.B, c.Hkv, c.S, c.Dv))
			err := sdpaBackward(dq, dk, dv, tensorOf(dout, c.B, c.H, c.T, c.Dv), qt, kt, vt, out, lse32, nil, tensorOf(dw, c.B, c.H, c.T, c.S), opt, false)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range []struct {
				got  *tensor.Tensor
				want []float64
			}{{dq, fq}, {dk, fk}, {dv, fv}} {
				numcheck.CheckRel(t, "float32 reference against finite differences", g.got.Data(), g.want, tol32)
			}
		})
	}
}

// The fused backward against the float64 twin at sizes around the tile
// edges (query tiles of bwdTileQ = 64 rows, 66 on the AVX2 micro-tile
// path; key tiles of bwdTileK = 64; the forward's tiles), under both
// schedules and every mask kind, with NaN guard bands around the gradients
// (a write outside a view changes a NaN); a second call into the same
// buffers must add the same gradient again. The reference float32 backward
// runs too on the smaller shapes.
//
// Tolerance 5e-6 relative, as in TestBackwardFiniteDifferences: the sums
// are longer (up to 1000 terms) but mostly of small terms; the errors
// measured stay below 9.1e-7. Mask kinds run in sorted order, so the
// draws are the same on every run: when they came from a map's random
// order, one draw put a row's weight on one or two keys (short key
// lengths), where dP − D cancels, and even the float32 reference lost
// 1.07e-5. A new shape that hits such a draw needs a better-conditioned
// draw, not a looser bound.
func TestFusedBackwardAtTileEdges(t *testing.T) {
	const tol = 5e-6
	rng := rand.New(rand.NewPCG(105, 106))
	kinds := edgeMaskKinds(rng)
	shapes := []struct{ B, H, Hkv, T, S, Dh, Dv int }{
		{1, 1, 1, 1, 1, 8, 8},
		{1, 2, 1, 2, 3, 4, 4},
		{2, 2, 2, 7, 3, 8, 5},
		{1, 2, 1, 63, 65, 16, 8},
		{1, 2, 2, 64, 64, 64, 64},
		{1, 3, 3, 65, 129, 32, 40},
		{1, 4, 2, 127, 130, 8, 8},
		{1, 2, 2, 129, 257, 16, 16},
		{1, 1, 1, 257, 63, 8, 8},
		{1, 1, 1, 3, 1000, 16, 16},
		// Micro-tile path (Dh, Dv multiples of the kernel width): partial
		// query tiles (66 rows with AVX2) and key tiles, GQA, dropout.
		{1, 2, 1, 67, 130, 64, 64},
		{2, 3, 3, 66, 64, 32, 16},
		{1, 1, 1, 133, 97, 16, 32},
	}
	for _, sh := range shapes {
		for _, name := range slices.Sorted(maps.Keys(kinds)) {
			mk := kinds[name]
			t.Run(fmt.Sprintf("%s/B=%d,H=%d,Hkv=%d,T=%d,S=%d,Dh=%d,Dv=%d", name, sh.B, sh.H, sh.Hkv, sh.T, sh.S, sh.Dh, sh.Dv), func(t *testing.T) {
				c := bwdCase{B: sh.B, H: sh.H, Hkv: sh.Hkv, T: sh.T, S: sh.S, Dh: sh.Dh, Dv: sh.Dv, masks: mk(sh.B, sh.H, sh.T, sh.S)}
				if (name == "none" || name == "causal") && (sh.T == 7 || sh.T == 67) {
					c.drop = Dropout{P: 0.3, Seed: 5}
				}
				q := randTensor(rng, 1, c.B, c.H, c.T, c.Dh)
				k := randTensor(rng, 1, c.B, c.Hkv, c.S, c.Dh)
				v := randTensor(rng, 1, c.B, c.Hkv, c.S, c.Dv)
				dout := randTensor(rng, 1, c.B, c.H, c.T, c.Dv)
				out := tensor.Must(tensor.New(c.B, c.H, c.T, c.Dv))
				lse := tensor.Must(tensor.New(c.B, c.H, c.T))
				opt := Options{Masks: c.masks, Dropout: c.drop, LSE: lse}
				if err := ScaledDotProduct(out, q, k, v, opt); err != nil {
					t.Fatal(err)
				}
				_, _, lse64 := c.fwd64(widen(q).data, widen(k).data, widen(v).data)
				wq, wk, wv := c.bwd64(widen(q).data, widen(k).data, widen(v).data, widen(dout).data, lse64, nil)
				paths := bwdPaths
				if c.T*c.S > 20000 {
					paths = paths[1:] // the reference is slow; TestBackwardFiniteDifferences covers it
				}
				for _, path := range paths {
					zeroed := func(B, H, N, X int) (*tensor.Tensor, []float32) {
						g, buf := guarded(B, H, N, X)
						must(0, g.CopyFrom(tensor.Must(tensor.New(B, H, N, X))))
						return g, buf
					}
					dq, qbuf := zeroed(c.B, c.H, c.T, c.Dh)
					dk, kbuf := zeroed(c.B, c.Hkv, c.S, c.Dh)
					dv, vbuf := zeroed(c.B, c.Hkv, c.S, c.Dv)
					bwdSchedule = path.schedule
					err := path.fn(dq, dk, dv, dout, q, k, v, out, lse, opt)
					var first [3][]float32
					for i, g := range []*tensor.Tensor{dq, dk, dv} {
						first[i] = append([]float32(nil), g.Values()...) // Values may alias the data
					}
					if err == nil {
						// Again into the same buffers: the gradients add.
						err = path.fn(dq, dk, dv, dout, q, k, v, out, lse, opt)
					}
					bwdSchedule = 0
					if err != nil {
						t.Fatal(err)
					}
					checkGuards(t, dq, qbuf)
					checkGuards(t, dk, kbuf)
					checkGuards(t, dv, vbuf)
					for i, g := range []struct {
						name string
						got  *tensor.Tensor
						want []float64
					}{{"dq", dq, wq}, {"dk", dk, wk}, {"dv", dv, wv}} {
						checkRel(t, path.name+" "+g.name, first[i], g.want, tol)
						// Adding must give 2x up to the rounding of the
						// partial sums the gradient is accumulated in (one
						// per query row in the reference: 1e-5 is ample).
						checkAddedTwice(t, path.name+" "+g.name, g.got.Values(), first[i], 1e-5)
					}
				}
			})
		}
	}
}

// A fully masked row has zero gradient: its dq row gets exactly zero
// added, and it adds nothing to dk and dv (so its dout does not matter).
func TestBackwardFullyMaskedRowsAreZero(t *testing.T) {
	rng := rand.New(rand.NewPCG(107, 108))
	B, H, T, S, D := 2, 2, 3, 70, 8
	masks := []Mask{KeyLengths{0, 70}, Causal{Align: BottomRight}, must(NewAllowedMask(append(make([]bool, S), fill2(true, (T-1)*S)...), T, S))}
	// batch 0: every row fully masked (no keys); batch 1: row 0 fully masked by the allowed mask.
	q := randTensor(rng, 1, B, H, T, D)
	k := randTensor(rng, 1, B, H, S, D)
	v := randTensor(rng, 1, B, H, S, D)
	dout := randTensor(rng, 1, B, H, T, D)
	for _, path := range bwdPaths {
		c := bwdCase{B: B, H: H, Hkv: H, T: T, S: S, Dh: D, Dv: D, masks: masks}
		dq, dk, dv := runBwd32(t, c, path.schedule, path.fn, q, k, v, dout)
		for h := 0; h < H; h++ {
			for i := 0; i < T; i++ {
				for _, x := range dq.Row(0, h, i) {
					if x != 0 {
						t.Fatalf("%s: batch 0 row %d dq %v, want 0", path.name, i, x)
					}
				}
				for _, x := range dq.Row(1, h, 0) {
					if x != 0 {
						t.Fatalf("%s: batch 1 row 0 dq %v, want 0", path.name, x)
					}
				}
			}
			for j := 0; j < S; j++ {
				for c := 0; c < D; c++ {
					if dk.At(0, h, j, c) != 0 || dv.At(0, h, j, c) != 0 {
						t.Fatalf("%s: batch 0 key %d has gradient", path.name, j)
					}
				}
			}
		}
		// Changing the dout of the masked row changes nothing.
		d2 := dout.Clone()
		for c := 0; c < D; c++ {
			d2.Set(1e3, 1, 0, 0, c)
		}
		dq2, dk2, dv2 := runBwd32(t, c, path.schedule, path.fn, q, k, v, d2)
		for _, p := range [][2]*tensor.Tensor{{dq, dq2}, {dk, dk2}, {dv, dv2}} {
			for i, x := range p[0].Data() {
				if p[1].Data()[i] != x {
					t.Fatalf("%s: dout of a fully masked row changed a gradient", path.name)
				}
			}
		}
	}
}

func fill2(v bool, n int) []bool {
	b := make([]bool, n)
	for i := range b {
		b[i] = v
	}
	return b
}

// NaN or Inf in a key or value that the compact masks exclude must not
// reach the gradients, as it does not reach the forward's output.
func TestBackwardNaNInMaskedKeyIsHarmless(t *testing.T) {
	rng := rand.New(rand.NewPCG(109, 110))
	c := bwdCase{B: 1, H: 2, Hkv: 2, T: 5, S: 70, Dh: 8, Dv: 8, masks: []Mask{KeyLengths{69}}}
	q := randTensor(rng, 1, 1, 2, 5, 8)
	k := randTensor(rng, 1, 1, 2, 70, 8)
	v := randTensor(rng, 1, 1, 2, 70, 8)
	dout := randTensor(rng, 1, 1, 2, 5, 8)
	kn, vn := k.Clone(), v.Clone()
	kn.Set(float32(math.NaN()), 0, 1, 69, 3)
	vn.Set(float32(math.Inf(1)), 0, 0, 69, 0)
	for _, path := range bwdPaths {
		wq, wk, wv := runBwd32(t, c, path.schedule, path.fn, q, k, v, dout)
		gq, gk, gv := runBwd32(t, c, path.schedule, path.fn, q, kn, vn, dout)
		for _, p := range [][2]*tensor.Tensor{{wq, gq}, {wk, gk}, {wv, gv}} {
			for i, x := range p[0].Data() {
				if p[1].Data()[i] != x {
					t.Fatalf("%s: element %d changed: %v vs %v", path.name, i, p[1].Data()[i], x)
				}
			}
		}
	}
}

// The LSE the forward returns is the row log-sum-exp of the scaled, masked
// scores, the same from both paths, -Inf on fully masked rows.
func TestForwardLSE(t *testing.T) {
	rng := rand.New(rand.NewPCG(111, 112))
	c := bwdCase{B: 2, H: 2, Hkv: 1, T: 65, S: 300, Dh: 8, Dv: 8, masks: []Mask{KeyLengths{0, 280}, Causal{Align: BottomRight}, must(NewAdditiveMask(randTensor(rng, 1, 65, 300)))}}
	q := randTensor(rng, 1, c.B, c.H, c.T, c.Dh)
	k := randTensor(rng, 1, c.B, c.Hkv, c.S, c.Dh)
	v := randTensor(rng, 1, c.B, c.Hkv, c.S, c.Dv)
	_, _, want := c.fwd64(widen(q).data, widen(k).data, widen(v).data)
	for _, path := range sdpaPaths {
		for _, weights := range []bool{false, true} {
			out := tensor.Must(tensor.New(c.B, c.H, c.T, c.Dv))
			lse := tensor.Must(tensor.New(c.B, c.H, c.T))
			opt := Options{Masks: c.masks, LSE: lse}
			if weights {
				opt.Weights = tensor.Must(tensor.New(c.B, c.H, c.T, c.S))
			}
			if err := path.fn(out, q, k, v, opt); err != nil {
				t.Fatal(err)
			}
			for i, x := range lse.Data() {
				w := want[i]
				if math.IsInf(w, -1) {
					if !math.IsInf(float64(x), -1) {
						t.Fatalf("%s: lse[%d] = %v, want -Inf", path.name, i, x)
					}
					continue
				}
				// lse ≈ up to 10: a few ulps of the largest term.
				if numcheck.Exceeds(math.Abs(float64(x)-w), 4e-6*math.Max(1, math.Abs(w))) {
					t.Fatalf("%s: lse[%d] = %v, want %v", path.name, i, x, w)
				}
			}
		}
	}
	// Key split (decode): one query against many keys.
	c2 := bwdCase{B: 1, H: 1, Hkv: 1, T: 1, S: 3000, Dh: 16, Dv: 16}
	q = randTensor(rng, 1, 1, 1, 1, 16)
	k = randTensor(rng, 1, 1, 1, 3000, 16)
	v = randTensor(rng, 1, 1, 1, 3000, 16)
	_, _, want = c2.fwd64(widen(q).data, widen(k).data, widen(v).data)
	lse := tensor.Must(tensor.New(1, 1, 1))
	if err := ScaledDotProduct(tensor.Must(tensor.New(1, 1, 1, 16)), q, k, v, Options{LSE: lse}); err != nil {
		t.Fatal(err)
	}
	if numcheck.Exceeds(math.Abs(float64(lse.Data()[0])-want[0]), 4e-6*math.Abs(want[0])) {
		t.Fatalf("decode lse %v, want %v", lse.Data()[0], want[0])
	}
}

// After warm-up the fused backward does not allocate, under both
// schedules, with masks and dropout.
func TestFusedBackwardSteadyStateDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	rng := rand.New(rand.NewPCG(113, 114))
	B, H, T, S, D := 1, 4, 130, 200, 32
	q := randTensor(rng, 1, B, H, T, D)
	k := randTensor(rng, 1, B, H, S, D)
	v := randTensor(rng, 1, B, H, S, D)
	dout := randTensor(rng, 1, B, H, T, D)
	out := tensor.Must(tensor.New(B, H, T, D))
	lse := tensor.Must(tensor.New(B, H, T))
	opt := Options{Masks: []Mask{Causal{Align: BottomRight}, KeyLengths{S - 3}}, Dropout: Dropout{P: 0.1, Seed: 3}, LSE: lse}
	if err := ScaledDotProduct(out, q, k, v, opt); err != nil {
		t.Fatal(err)
	}
	dq, dk, dv := tensor.Must(tensor.New(B, H, T, D)), tensor.Must(tensor.New(B, H, S, D)), tensor.Must(tensor.New(B, H, S, D))
	for _, schedule := range []int{bwdOwner, bwdKeys} {
		bwdSchedule = schedule
		_ = ScaledDotProductBackward(dq, dk, dv, dout, q, k, v, out, lse, opt)
		a := testing.AllocsPerRun(10, func() { _ = ScaledDotProductBackward(dq, dk, dv, dout, q, k, v, out, lse, opt) })
		bwdSchedule = 0
		if a != 0 {
			t.Errorf("schedule %d: %v allocations per call", schedule, a)
		}
	}
}

func TestBackwardBadInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(115, 116))
	q := randTensor(rng, 1, 2, 4, 3, 8)
	k := randTensor(rng, 1, 2, 2, 5, 8)
	v := randTensor(rng, 1, 2, 2, 5, 6)
	out := tensor.Must(tensor.New(2, 4, 3, 6))
	lse := tensor.Must(tensor.New(2, 4, 3))
	dout := randTensor(rng, 1, 2, 4, 3, 6)
	dq, dk, dv := tensor.Must(tensor.New(2, 4, 3, 8)), tensor.Must(tensor.New(2, 2, 5, 8)), tensor.Must(tensor.New(2, 2, 5, 6))
	nanOut := dout.Clone()
	nanOut.Set(float32(math.NaN()), 1, 0, 2, 1)
	infLSE := lse.Clone()
	infLSE.Set(float32(math.Inf(1)), 0, 1, 1)
	cases := []struct {
		name                       string
		dq, dk, dv, dout, out, lse *tensor.Tensor
		want                       string
	}{
		{"nil dq", nil, dk, dv, dout, out, lse, "query gradient is nil"},
		{"dk shape", dq, dv, dv, dout, out, lse, "key gradient has shape [2 2 5 6], want [B=2 Hkv=2 S=5 Dh=8]"},
		{"dv shape", dq, dk, dk, dout, out, lse, "value gradient has shape [2 2 5 8]"},
		{"dout shape", dq, dk, dv, dq, out, lse, "output gradient has shape"},
		{"nil lse", dq, dk, dv, dout, out, nil, "lse is nil"},
		{"lse shape", dq, dk, dv, dout, out, tensor.Must(tensor.New(2, 4, 4)), "lse has shape [2 4 4], want [B=2 H=4 T=3]"},
		{"lse +Inf", dq, dk, dv, dout, out, infLSE, "lse has +Inf at index [0 1 1]"},
		{"NaN dout", dq, dk, dv, nanOut, out, lse, "output gradient has NaN at index [1 0 2 1]"},
		{"out shape", dq, dk, dv, dout, dq, lse, "output has shape [2 4 3 8], want [B=2 H=4 T=3 Dv=6]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, path := range bwdPaths[:2] {
				err := path.fn(c.dq, c.dk, c.dv, c.dout, q, k, v, c.out, c.lse, Options{})
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("%s: err = %v, want it to contain %q", path.name, err, c.want)
				}
			}
		})
	}
}
