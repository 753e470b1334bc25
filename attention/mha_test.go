package attention

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/attn-go/attn/internal/numcheck"
	"github.com/attn-go/attn/tensor"
)

// mha64 is an independent float64 multi-head attention written from the
// paper's equations with plain loops (no shared code with Forward except the
// mask rows), used to check Forward end to end.
// Returns out [B,T,D] and per-head weights [B,H,T,S].
func mha64(m *MultiHeadAttention, query, key, value *tensor.Tensor, masks []Mask) (out, w []float64) {
	c := m.cfg
	D, H := c.DModel, c.Heads
	Dh := D / H
	B, T, S := query.Dim(0), query.Dim(1), key.Dim(1)
	p := func(name string) []float32 {
		if t := m.params[name]; t != nil {
			return t.Data()
		}
		return nil
	}
	proj := func(x *tensor.Tensor, which int) []float64 {
		N, in := x.Dim(1), x.Dim(2)
		var wt, bias []float32
		if c.packed() {
			wt = p(InProjWeight)[which*D*D : (which+1)*D*D]
		} else {
			wt = p([]string{QProjWeight, KProjWeight, VProjWeight}[which])
		}
		if b := p(InProjBias); b != nil {
			bias = b[which*D : (which+1)*D]
		}
		y := make([]float64, B*N*D)
		xv := x.Values()
		for r := 0; r < B*N; r++ {
			for o := 0; o < D; o++ {
				var s float64
				for i := 0; i < in; i++ {
					s += float64(xv[r*in+i]) * float64(wt[o*in+i])
				}
				if bias != nil {
					s += float64(bias[o])
				}
				y[r*D+o] = s
			}
		}
		return y
	}
	q, k, v := proj(query, 0), proj(key, 1), proj(value, 2)
	ctx := make([]float64, B*T*D)
	w = make([]float64, B*H*T*S)
	d := Dims{B, H, T, S}
	row := make([]float64, S)
	for b := 0; b < B; b++ {
		for h := 0; h < H; h++ {
			for i := 0; i < T; i++ {
				for j := 0; j < S; j++ {
					var s float64
					for e := 0; e < Dh; e++ {
						s += q[(b*T+i)*D+h*Dh+e] * k[(b*S+j)*D+h*Dh+e]
					}
					row[j] = s / math.Sqrt(float64(Dh))
				}
				applyMasks(masks, d, b, h, i, row)
				mx := math.Inf(-1)
				for _, s := range row {
					mx = math.Max(mx, s)
				}
				var sum float64
				for j, s := range row {
					if !math.IsInf(mx, -1) {
						row[j] = math.Exp(s - mx)
					} else {
						row[j] = 0
					}
					sum += row[j]
				}
				for j := range row {
					if sum > 0 {
						row[j] /= sum
					}
					w[((b*H+h)*T+i)*S+j] = row[j]
					for e := 0; e < Dh; e++ {
						ctx[(b*T+i)*D+h*Dh+e] += row[j] * v[(b*S+j)*D+h*Dh+e]
					}
				}
			}
		}
	}
	out = make([]float64, B*T*D)
	wo, bo := p(OutProjWeight), p(OutProjBias)
	for r := 0; r < B*T; r++ {
		for o := 0; o < D; o++ {
			var s float64
			for i := 0; i < D; i++ {
				s += ctx[r*D+i] * float64(wo[o*D+i])
			}
			if bo != nil {
				s += float64(bo[o])
			}
			out[r*D+o] = s
		}
	}
	return out, w
}

func newMHA(t *testing.T, cfg Config, seed uint64) *MultiHeadAttention {
	t.Helper()
	m, err := New(cfg, rand.New(rand.NewPCG(seed, 99)))
	if err != nil {
		t.Fatal(err)
	}
	// PyTorch zero-initialises biases; give them values so they are tested.
	rng := rand.New(rand.NewPCG(seed, 100))
	for _, name := range []string{InProjBias, OutProjBias} {
		if b := m.params[name]; b != nil {
			for i := range b.Data() {
				b.Data()[i] = float32(rng.NormFloat64() * 0.1)
			}
		}
	}
	return m
}

// Forward must agree with the independent float64 implementation to float32
// rounding. Bound 4e-6 relative: three chained float32 stages (projection
// with D-term dot products, attention, output projection) each contribute
// about sqrt(n)·2^-24 relative error for n <= 96 terms; 4e-6 is ~30× that
// typical error and still far below any real mistake (O(1)).
func TestMHAMatchesFloat64(t *testing.T) {
	const tol = 4e-6
	cases := []struct {
		name      string
		cfg       Config
		B, T, S   int
		cross     bool
		masks     func(B, H, T, S int) []Mask
		perHead   bool
		fullyMask bool
	}{
		{name: "self D8 H1", cfg: Config{DModel: 8, Heads: 1, Bias: true}, B: 1, T: 1, S: 1},
		{name: "self D64 H8 causal", cfg: Config{DModel: 64, Heads: 8, Bias: true}, B: 3, T: 7, S: 7,
			masks: func(B, H, T, S int) []Mask { return []Mask{Causal{}} }},
		{name: "cross kdim vdim no bias", cfg: Config{DModel: 64, Heads: 8, KDim: 24, VDim: 40}, B: 2, T: 7, S: 13, cross: true},
		{name: "cross packed padding", cfg: Config{DModel: 96, Heads: 12, Bias: true}, B: 3, T: 5, S: 9, cross: true,
			masks: func(B, H, T, S int) []Mask { return []Mask{KeyLengths{9, 0, 4}} }, fullyMask: true, perHead: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newMHA(t, c.cfg, 1)
			rng := rand.New(rand.NewPCG(2, 3))
			cfg := m.Config()
			query := randTensor(rng, 1, c.B, c.T, cfg.DModel)
			key, value := query, query
			if c.cross {
				key = randTensor(rng, 1, c.B, c.S, cfg.KDim)
				value = randTensor(rng, 1, c.B, c.S, cfg.VDim)
			}
			var masks []Mask
			if c.masks != nil {
				masks = c.masks(c.B, cfg.Heads, c.T, c.S)
			}
			var k, v *tensor.Tensor
			if c.cross {
				k, v = key, value
			}
			out, w, err := m.Forward(query, k, v, ForwardOptions{Masks: masks, NeedWeights: true, PerHeadWeights: c.perHead})
			if err != nil {
				t.Fatal(err)
			}
			wantO, wantW := mha64(m, query, key, value, masks)
			numcheck.CheckRel(t, "output", out.Data(), wantO, tol)
			if !c.perHead {
				wantW = averageHeads64(wantW, c.B, cfg.Heads, c.T, c.S)
			}
			numcheck.CheckRel(t, "weights", w.Data(), wantW, tol)
			if c.fullyMask {
				// Batch 1 has no keys: its output rows are out_proj.bias exactly.
				bias := m.params[OutProjBias].Data()
				for i := 0; i < c.T; i++ {
					for e, x := range out.Row(1, i) {
						if x != bias[e] {
							t.Fatalf("fully masked row %d: out[%d] = %v, want bias %v", i, e, x, bias[e])
						}
					}
				}
			}
		})
	}
}

func averageHeads64(w []float64, B, H, T, S int) []float64 {
	a := make([]float64, B*T*S)
	for b := 0; b < B; b++ {
		for h := 0; h < H; h++ {
			for r := 0; r < T*S; r++ {
				a[b*T*S+r] += w[(b*H+h)*T*S+r] / float64(H)
			}
		}
	}
	return a
}

// Asking for weights must not change the output, bit for bit, and self-
// attention with key = value = nil must equal passing the query three times.
func TestMHAOutputIndependentOfOptions(t *testing.T) {
	m := newMHA(t, Config{DModel: 32, Heads: 4, Bias: true}, 4)
	rng := rand.New(rand.NewPCG(5, 6))
	x := randTensor(rng, 1, 2, 9, 32)
	a, w, err := m.Forward(x, nil, nil, ForwardOptions{})
	if err != nil || w != nil {
		t.Fatalf("err %v, weights %v (want nil when not asked)", err, w)
	}
	b, w, err := m.Forward(x, x, x, ForwardOptions{NeedWeights: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := w.Shape(); !tensor.SameShape(got, []int{2, 9, 9}) {
		t.Fatalf("averaged weights shape %v, want [2 9 9]", got)
	}
	for i, v := range a.Data() {
		if b.Data()[i] != v {
			t.Fatalf("element %d differs: %v vs %v", i, v, b.Data()[i])
		}
	}
}

func TestMHAConfigAndStateDict(t *testing.T) {
	bad := []struct {
		cfg  Config
		want string
	}{
		{Config{DModel: 10, Heads: 3}, "num heads 3 does not divide embed dim 10"},
		{Config{DModel: 0, Heads: 1}, "embed dim is 0"},
		{Config{DModel: 8, Heads: 0}, "num heads is 0"},
		{Config{DModel: 8, Heads: 2, KDim: -1}, "kdim -1"},
		{Config{DModel: 1 << 30, Heads: 1}, "more than"},
	}
	for _, c := range bad {
		if _, err := New(c.cfg, rand.New(rand.NewPCG(1, 1))); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v, want %q", c.cfg, err, c.want)
		}
	}
	cfg := Config{DModel: 16, Heads: 4, Bias: true}
	m := newMHA(t, cfg, 7)
	sd := m.StateDict()
	wantShapes := map[string][]int{InProjWeight: {48, 16}, InProjBias: {48}, OutProjWeight: {16, 16}, OutProjBias: {16}}
	if len(sd) != len(wantShapes) {
		t.Fatalf("state dict has %d entries, want %d", len(sd), len(wantShapes))
	}
	for name, s := range wantShapes {
		if !tensor.SameShape(sd[name].Shape(), s) {
			t.Fatalf("%s shape %v, want %v", name, sd[name].Shape(), s)
		}
	}
	if _, err := FromStateDict(cfg, sd); err != nil {
		t.Fatal(err)
	}
	sep := Config{DModel: 16, Heads: 4, KDim: 5, VDim: 6}.ParamShapes()
	if !tensor.SameShape(sep[KProjWeight], []int{16, 5}) || !tensor.SameShape(sep[VProjWeight], []int{16, 6}) || sep[InProjWeight] != nil || sep[InProjBias] != nil {
		t.Fatalf("kdim/vdim shapes %v", sep)
	}

	without := func(name string) map[string]*tensor.Tensor {
		c := m.StateDict()
		delete(c, name)
		return c
	}
	with := func(name string, v *tensor.Tensor) map[string]*tensor.Tensor {
		c := m.StateDict()
		c[name] = v
		return c
	}
	nan := sd[OutProjBias].Clone()
	nan.Data()[3] = float32(math.NaN())
	badSD := []struct {
		name string
		sd   map[string]*tensor.Tensor
		want string
	}{
		{"missing", without(OutProjWeight), `no "out_proj.weight" (shape [16 16])`},
		{"wrong shape", with(InProjWeight, tensor.Must(tensor.New(16, 48))), "in_proj_weight has shape [16 48], want [48 16]"},
		{"unexpected", with("q_proj_weight", tensor.Must(tensor.New(16, 16))), `unexpected parameter "q_proj_weight"`},
		{"NaN", with(OutProjBias, nan), "out_proj.bias has NaN at index [3]"},
	}
	for _, c := range badSD {
		if _, err := FromStateDict(cfg, c.sd); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
}

func TestMHAForwardBadInput(t *testing.T) {
	m := newMHA(t, Config{DModel: 16, Heads: 4, KDim: 6, VDim: 5, Bias: true}, 8)
	rng := rand.New(rand.NewPCG(1, 2))
	q := randTensor(rng, 1, 2, 3, 16)
	k := randTensor(rng, 1, 2, 4, 6)
	v := randTensor(rng, 1, 2, 4, 5)
	inf := k.Clone()
	inf.Set(float32(math.Inf(1)), 1, 3, 5)
	cases := []struct {
		name    string
		q, k, v *tensor.Tensor
		opt     ForwardOptions
		want    string
	}{
		{"query rank", randTensor(rng, 1, 3, 16), k, v, ForwardOptions{}, "query has shape [3 16], want [B T D=16]"},
		{"query width", randTensor(rng, 1, 2, 3, 15), k, v, ForwardOptions{}, "want [B T D=16]"},
		{"nil query", nil, k, v, ForwardOptions{}, "query is missing"},
		{"key width", q, randTensor(rng, 1, 2, 4, 16), v, ForwardOptions{}, "key has shape [2 4 16], want [B=2 S kdim=6]"},
		{"key batch", q, randTensor(rng, 1, 1, 4, 6), v, ForwardOptions{}, "key has shape [1 4 6]"},
		{"value length", q, k, randTensor(rng, 1, 2, 3, 5), ForwardOptions{}, "value has shape [2 3 5], want [B=2 S=4 vdim=5]"},
		{"only key", q, k, nil, ForwardOptions{}, "both be given"},
		{"self with kdim", q, nil, nil, ForwardOptions{}, "key has shape [2 3 16]"},
		{"Inf key", q, inf, v, ForwardOptions{}, "key has +Inf at index [1 3 5]"},
		{"mask shape", q, k, v, ForwardOptions{Masks: []Mask{must(NewAllowedMask(make([]bool, 12), 4, 3))}}, "want its last two dimensions [T=3 S=4]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := m.Forward(c.q, c.k, c.v, c.opt)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}

// Huge but finite inputs overflow float32 in the projections; that must be
// an error, not a NaN output.
func TestMHAOverflowIsAnError(t *testing.T) {
	m := newMHA(t, Config{DModel: 8, Heads: 2}, 9)
	x := tensor.Must(tensor.FromSlice(fill(16, 3e38), 1, 2, 8))
	_, _, err := m.Forward(x, nil, nil, ForwardOptions{})
	if err == nil || !strings.Contains(err.Error(), "overflowed float32") {
		t.Fatalf("err = %v, want an overflow error", err)
	}
}

// Weights are read-only during Forward: concurrent calls give the serial
// answer (run with -race).
func TestMHAConcurrentForward(t *testing.T) {
	m := newMHA(t, Config{DModel: 32, Heads: 4, Bias: true}, 10)
	rng := rand.New(rand.NewPCG(3, 3))
	xs := make([]*tensor.Tensor, 8)
	want := make([]*tensor.Tensor, len(xs))
	for i := range xs {
		xs[i] = randTensor(rng, 1, 1, 6, 32)
		var err error
		if want[i], _, err = m.Forward(xs[i], nil, nil, ForwardOptions{Masks: []Mask{Causal{}}}); err != nil {
			t.Fatal(err)
		}
	}
	errs := make(chan error, len(xs))
	for i := range xs {
		go func() {
			got, _, err := m.Forward(xs[i], nil, nil, ForwardOptions{Masks: []Mask{Causal{}}})
			if err == nil {
				for e, v := range got.Data() {
					if v != want[i].Data()[e] {
						err = errMismatch
						break
					}
				}
			}
			errs <- err
		}()
	}
	for range xs {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

var errMismatch = &mismatchError{}

type mismatchError struct{}

func (*mismatchError) Error() string { return "concurrent Forward differs from serial" }
