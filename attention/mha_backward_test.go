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

// mhaFD64 is a float64 multi-head attention written from the definition, the
// function the finite differences differentiate: projections, the float64
// twin of the attention core (sdpaCore), the output projection. It returns
// the output [B,T,D] and the weights as Forward returns them.
func mhaFD64(cfg Config, params map[string][]float64, query, key, value []float64, B, T, S int, opt ForwardOptions) (out, weights []float64) {
	cfg = cfg.withDefaults()
	D, H := cfg.DModel, cfg.Heads
	Dh := D / H
	linear := func(x []float64, rows, in int, w []float64, b []float64) []float64 {
		y := make([]float64, rows*D)
		for r := 0; r < rows; r++ {
			for o := 0; o < D; o++ {
				var s float64
				for i := 0; i < in; i++ {
					s += x[r*in+i] * w[o*in+i]
				}
				if b != nil {
					s += b[o]
				}
				y[r*D+o] = s
			}
		}
		return y
	}
	w := func(p int) []float64 {
		if cfg.packed() {
			return params[InProjWeight][p*D*D : (p+1)*D*D]
		}
		return params[[]string{QProjWeight, KProjWeight, VProjWeight}[p]]
	}
	bias := func(p int) []float64 {
		if !cfg.Bias {
			return nil
		}
		return params[InProjBias][p*D : (p+1)*D]
	}
	q := linear(query, B*T, D, w(0), bias(0))
	k := linear(key, B*S, cfg.KDim, w(1), bias(1))
	v := linear(value, B*S, cfg.VDim, w(2), bias(2))
	headsOf := func(x []float64, N int) operand[float64] { // [B,N,D] seen as [B,H,N,Dh]
		return operand[float64]{data: x, sb: N * D, sh: Dh, st: D}
	}
	ctx := make([]float64, B*T*D)
	wts := make([]float64, B*H*T*S)
	scale := 1 / math.Sqrt(float64(Dh))
	if opt.Scale != 0 {
		scale = float64(opt.Scale)
	}
	sdpaCore(Dims{B, H, T, S}, H, Dh, Dh, scale, headsOf(q, T), headsOf(k, S), headsOf(v, S), headsOf(ctx, T),
		op64(wts, H, T, S), nil, nil, opt.Masks, opt.Dropout)
	var bo []float64
	if cfg.Bias {
		bo = params[OutProjBias]
	}
	out = linear(ctx, B*T, D, params[OutProjWeight], bo)
	if !opt.NeedWeights || opt.PerHeadWeights {
		return out, wts
	}
	avg := make([]float64, B*T*S)
	for b := 0; b < B; b++ {
		for h := 0; h < H; h++ {
			for x := 0; x < T*S; x++ {
				avg[b*T*S+x] += wts[(b*H+h)*T*S+x] / float64(H)
			}
		}
	}
	return out, avg
}

// The module's Backward against central finite differences of mhaFD64, for
// every parameter and input: self- and cross-attention, kdim/vdim, bias on
// and off, masks (with fully masked rows), a gradient on the weights
// (averaged and per head), dropout.
//
// Tolerance 2e-6 relative per tensor: the float32 backward chains the
// attention core's error (5e-6 allowed, about 1e-6 measured on its own
// test's larger scores, see TestBackwardFiniteDifferences; the scores
// here are small) with GEMMs of at most 24 terms, each adding about
// 2^-24·sqrt(n) ≈ 3e-7; the errors measured are below 3e-7. The finite
// differences (step 1e-5, float64) are good to about 1e-9.
func TestMHABackwardFiniteDifferences(t *testing.T) {
	const tol = 2e-6
	B, T, S, D, H := 2, 3, 4, 8, 2
	type tc struct {
		cfg        Config
		cross      bool
		opt        ForwardOptions
		dweights   bool
		fullMasked bool // a batch's rows are fully masked
	}
	causal := []Mask{Causal{}}
	cases := map[string]tc{
		"self":                {cfg: Config{DModel: D, Heads: H, Bias: true}},
		"self-nobias-causal":  {cfg: Config{DModel: D, Heads: H}, opt: ForwardOptions{Masks: causal}},
		"self-weights-avg":    {cfg: Config{DModel: D, Heads: H, Bias: true}, opt: ForwardOptions{NeedWeights: true, Masks: causal}, dweights: true},
		"self-weights-head":   {cfg: Config{DModel: D, Heads: H, Bias: true}, opt: ForwardOptions{NeedWeights: true, PerHeadWeights: true}, dweights: true},
		"self-weights-unused": {cfg: Config{DModel: D, Heads: H, Bias: true}, opt: ForwardOptions{NeedWeights: true}},
		"self-dropout":        {cfg: Config{DModel: D, Heads: H, Bias: true}, opt: ForwardOptions{Dropout: Dropout{P: 0.3, Seed: 11}}},
		"self-dropout-wts":    {cfg: Config{DModel: D, Heads: H, Bias: true}, opt: ForwardOptions{NeedWeights: true, Dropout: Dropout{P: 0.3, Seed: 12}}, dweights: true},
		"self-scale":          {cfg: Config{DModel: D, Heads: H, Bias: true}, opt: ForwardOptions{Scale: 0.9}},
		"cross-packed":        {cfg: Config{DModel: D, Heads: H, Bias: true}, cross: true},
		"cross-kvdim":         {cfg: Config{DModel: D, Heads: H, KDim: 5, VDim: 6, Bias: true}, cross: true, fullMasked: true},
		"cross-kvdim-nobias":  {cfg: Config{DModel: D, Heads: H, KDim: 5, VDim: 6}, cross: true, opt: ForwardOptions{NeedWeights: true, PerHeadWeights: true}, dweights: true},
		"cross-masks": {cfg: Config{DModel: D, Heads: 4, Bias: true}, cross: true, opt: ForwardOptions{NeedWeights: true, Masks: []Mask{
			must(TorchAttnMask([]bool{false, true, false, false, true, false, true, false, false, false, true, true}, T, S)),
			must(NewAdditiveMask(tensor.Must(tensor.FromSlice([]float32{0.5, -1, 0, 2, 1, 0, -0.5, 0, 0, 0, 0, 1}, T, S)))),
		}}, dweights: true},
	}
	rng := rand.New(rand.NewPCG(201, 202))
	for _, name := range slices.Sorted(maps.Keys(cases)) { // sorted: the same draws every run
		c := cases[name]
		t.Run(name, func(t *testing.T) {
			m, err := New(c.cfg, rng)
			if err != nil {
				t.Fatal(err)
			}
			cfg := m.Config()
			sd := m.StateDict()
			for _, name := range sortedKeys(sd) { // biases start at zero: redraw them
				if strings.Contains(name, "bias") {
					for i := range sd[name].Data() {
						sd[name].Data()[i] = float32(rng.NormFloat64() * 0.5)
					}
				}
			}
			opt := c.opt
			if c.fullMasked {
				opt.Masks = append(opt.Masks, KeyLengths{S, 0})
			}
			Sx := T
			if c.cross {
				Sx = S
			}
			query := randTensor(rng, 1, B, T, D)
			var key, value *tensor.Tensor
			if c.cross {
				key = randTensor(rng, 1, B, S, cfg.KDim)
				value = randTensor(rng, 1, B, S, cfg.VDim)
			}
			out, w, saved, err := m.ForwardTrain(query, key, value, opt)
			if err != nil {
				t.Fatal(err)
			}
			// ForwardTrain returns what Forward returns.
			out2, w2, err := m.Forward(query, key, value, opt)
			if err != nil {
				t.Fatal(err)
			}
			for i, x := range out.Data() {
				if out2.Data()[i] != x {
					t.Fatalf("ForwardTrain output %d = %v, Forward %v", i, x, out2.Data()[i])
				}
			}
			if (w == nil) != (w2 == nil) {
				t.Fatal("ForwardTrain and Forward disagree on returning weights")
			}
			dout := randTensor(rng, 1, B, T, D)
			var dw *tensor.Tensor
			if c.dweights {
				dw = randTensor(rng, 1, w.Shape()...)
			}
			grads := map[string]*tensor.Tensor{}
			dq, dk, dv, err := m.Backward(saved, dout, dw, grads)
			if err != nil {
				t.Fatal(err)
			}
			if c.cross != (dk != nil && dv != nil) {
				t.Fatalf("cross=%v but dkey, dvalue nil = %v, %v", c.cross, dk == nil, dv == nil)
			}

			// Finite differences of L = Σ dout∘out + Σ dw∘weights.
			p64 := map[string][]float64{}
			for name, p := range sd {
				p64[name] = widen(tensor.Must(p.Reshape(1, 1, 1, p.Len()))).data
			}
			x64 := func(x *tensor.Tensor) []float64 {
				if x == nil {
					return nil
				}
				return widen(tensor.Must(x.Reshape(1, 1, 1, x.Len()))).data
			}
			q64, k64, v64 := x64(query), x64(key), x64(value)
			d64, dw64 := x64(dout), x64(dw)
			loss := func() float64 {
				kk, vv := k64, v64
				if !c.cross {
					kk, vv = q64, q64
				}
				o, ww := mhaFD64(cfg, p64, q64, kk, vv, B, T, Sx, opt)
				var L float64
				for i, x := range o {
					L += d64[i] * x
				}
				for i := range dw64 {
					L += dw64[i] * ww[i]
				}
				return L
			}
			fd := func(x []float64) []float64 { return centralDiff(x, loss) }
			check := func(what string, got *tensor.Tensor, want []float64) {
				t.Helper()
				checkRel(t, what+" against finite differences", got.Data(), want, tol)
			}
			if len(grads) != len(cfg.ParamShapes()) {
				t.Fatalf("grads has %d entries, want one per parameter (%d)", len(grads), len(cfg.ParamShapes()))
			}
			for _, name := range sortedKeys(p64) {
				check("grad "+name, grads[name], fd(p64[name]))
			}
			check("dquery", dq, fd(q64))
			if c.cross {
				check("dkey", dk, fd(k64))
				check("dvalue", dv, fd(v64))
			}

			// A second Backward adds the same parameter gradients again.
			before := map[string][]float32{}
			for name, g := range grads {
				before[name] = append([]float32(nil), g.Data()...)
			}
			if _, _, _, err := m.Backward(saved, dout, dw, grads); err != nil {
				t.Fatal(err)
			}
			for name, g := range grads {
				checkAddedTwice(t, "grad "+name, g.Data(), before[name], 1e-6)
			}
		})
	}
}

// With dweights the module takes the reference backward; without, the
// fused one. Both must agree when the weights gradient is zero.
func TestMHABackwardPathsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(203, 204))
	m := must(New(Config{DModel: 16, Heads: 4, Bias: true}, rng))
	x := randTensor(rng, 1, 2, 70, 16)
	opt := ForwardOptions{Masks: []Mask{Causal{}, KeyLengths{70, 33}}, NeedWeights: true}
	_, w, saved, err := m.ForwardTrain(x, nil, nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	dout := randTensor(rng, 1, 2, 70, 16)
	g1, g2 := map[string]*tensor.Tensor{}, map[string]*tensor.Tensor{}
	dx1, _, _, err := m.Backward(saved, dout, nil, g1)
	if err != nil {
		t.Fatal(err)
	}
	dx2, _, _, err := m.Backward(saved, dout, tensor.Must(tensor.New(w.Shape()...)), g2)
	if err != nil {
		t.Fatal(err)
	}
	// Two float32 paths, each within about 1e-6 of float64 (see above).
	numcheck.CheckRel(t, "dquery: fused against reference", dx1.Data(), dx2.Values(), 4e-6)
	for name, g := range g1 {
		numcheck.CheckRel(t, name+": fused against reference", g.Data(), g2[name].Values(), 4e-6)
	}
}

func TestMHABackwardBadInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(205, 206))
	m := must(New(Config{DModel: 8, Heads: 2, Bias: true}, rng))
	other := must(New(Config{DModel: 8, Heads: 2, Bias: true}, rng))
	x := randTensor(rng, 1, 2, 3, 8)
	_, _, saved, err := m.ForwardTrain(x, nil, nil, ForwardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, _, savedW, err := m.ForwardTrain(x, nil, nil, ForwardOptions{NeedWeights: true})
	if err != nil {
		t.Fatal(err)
	}
	dout := randTensor(rng, 1, 2, 3, 8)
	nanOut := dout.Clone()
	nanOut.Set(float32(math.NaN()), 1, 2, 3)
	cases := []struct {
		name  string
		m     *MultiHeadAttention
		saved *MHASaved
		dout  *tensor.Tensor
		dw    *tensor.Tensor
		grads map[string]*tensor.Tensor
		want  string
	}{
		{"nil saved", m, nil, dout, nil, map[string]*tensor.Tensor{}, "saved state"},
		{"other module", other, saved, dout, nil, map[string]*tensor.Tensor{}, "saved state"},
		{"nil grads", m, saved, dout, nil, nil, "gradient map"},
		{"dout shape", m, saved, randTensor(rng, 1, 2, 4, 8), nil, map[string]*tensor.Tensor{}, "output gradient has shape [2 4 8], want [B=2 T=3 D=8]"},
		{"NaN dout", m, saved, nanOut, nil, map[string]*tensor.Tensor{}, "output gradient has NaN at index [1 2 3]"},
		{"dweights without weights", m, saved, dout, randTensor(rng, 1, 2, 3, 3), map[string]*tensor.Tensor{}, "NeedWeights is false"},
		{"dweights shape", m, savedW, dout, randTensor(rng, 1, 2, 2, 3, 3), map[string]*tensor.Tensor{}, "weights gradient has shape [2 2 3 3], want [B=2 T=3 S=3]"},
		{"grad shape", m, saved, dout, nil, map[string]*tensor.Tensor{OutProjBias: tensor.Must(tensor.New(9))}, "gradient out_proj.bias has shape [9]"},
		{"unknown grad", m, saved, dout, nil, map[string]*tensor.Tensor{QProjWeight: tensor.Must(tensor.New(8, 8))}, `"q_proj_weight", which is not a parameter`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, _, err := c.m.Backward(c.saved, c.dout, c.dw, c.grads)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

// ExampleMultiHeadAttention_Backward trains nothing, but shows the calls:
// a forward that keeps what backward needs, then gradients by PyTorch name.
func ExampleMultiHeadAttention_Backward() {
	rng := rand.New(rand.NewPCG(1, 2))
	m, _ := New(Config{DModel: 8, Heads: 2, Bias: true}, rng)
	x := tensor.Must(tensor.New(1, 4, 8)) // [B,T,D]
	for i := range x.Data() {
		x.Data()[i] = float32(i%5) - 2
	}
	out, _, saved, err := m.ForwardTrain(x, nil, nil, ForwardOptions{Masks: []Mask{Causal{}}})
	if err != nil {
		panic(err)
	}
	dout := tensor.Must(tensor.New(out.Shape()...)) // d(loss)/d(out); here loss = sum(out)
	for i := range dout.Data() {
		dout.Data()[i] = 1
	}
	grads := map[string]*tensor.Tensor{}
	dx, _, _, err := m.Backward(saved, dout, nil, grads)
	if err != nil {
		panic(err)
	}
	fmt.Println("dx", dx.Shape())
	for _, name := range sortedKeys(grads) {
		fmt.Println(name, grads[name].Shape())
	}
	fmt.Println("d out_proj.bias[0] =", grads[OutProjBias].Data()[0]) // = B·T
	// Output:
	// dx [1 4 8]
	// in_proj_bias [24]
	// in_proj_weight [24 8]
	// out_proj.bias [8]
	// out_proj.weight [8 8]
	// d out_proj.bias[0] = 4
}
