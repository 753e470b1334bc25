package attention

// Shape legend for this file:
//   B batch   T queries   S keys   D embed dim   H heads   Dh = D/H
//   Dk key input dim (kdim)   Dv value input dim (vdim)

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"

	"github.com/attn-go/attn/kernel"
	"github.com/attn-go/attn/tensor"
)

// Config describes a multi-head attention module, as the arguments of
// PyTorch's nn.MultiheadAttention do.
type Config struct {
	DModel int  // D, the model width (query input and output features)
	Heads  int  // H; must divide DModel
	KDim   int  // key input features; 0 means DModel
	VDim   int  // value input features; 0 means DModel
	Bias   bool // in_proj_bias and out_proj.bias present
}

func (c Config) withDefaults() Config {
	if c.KDim == 0 {
		c.KDim = c.DModel
	}
	if c.VDim == 0 {
		c.VDim = c.DModel
	}
	return c
}

// Validate reports the first problem with c.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.DModel < 1:
		return fmt.Errorf("attention: embed dim is %d, want >= 1", c.DModel)
	case c.Heads < 1:
		return fmt.Errorf("attention: num heads is %d, want >= 1", c.Heads)
	case c.DModel%c.Heads != 0:
		return fmt.Errorf("attention: num heads %d does not divide embed dim %d", c.Heads, c.DModel)
	case c.KDim < 1 || c.VDim < 1:
		return fmt.Errorf("attention: kdim %d and vdim %d must be >= 1", c.KDim, c.VDim)
	}
	if _, err := tensor.NumElements(3, c.DModel, max(c.DModel, c.KDim, c.VDim)); err != nil {
		return fmt.Errorf("attention: %w", err)
	}
	return nil
}

// packed reports whether the q, k and v projections live in one
// in_proj_weight [3D, D], as PyTorch stores them when kdim = vdim = D.
func (c Config) packed() bool { return c.KDim == c.DModel && c.VDim == c.DModel }

// MultiHeadAttention is the paper's multi-head attention:
//
//	head_h = softmax(Q_h·K_hᵀ/sqrt(Dh) + mask)·V_h,  Q_h = query·W_Qhᵀ + b_Qh, ...
//	output = concat(head_1..head_H)·W_Oᵀ + b_O
//
// Its parameters have PyTorch nn.MultiheadAttention's names and layouts
// (StateDict), so a state_dict saved from PyTorch loads unchanged. A module
// is read-only during Forward: many goroutines may call Forward at once.
type MultiHeadAttention struct {
	cfg    Config
	params map[string]*tensor.Tensor
}

// Parameter names, PyTorch's.
const (
	InProjWeight  = "in_proj_weight"  // [3D, D] when kdim = vdim = D
	QProjWeight   = "q_proj_weight"   // [D, D] when kdim or vdim != D
	KProjWeight   = "k_proj_weight"   // [D, Dk]
	VProjWeight   = "v_proj_weight"   // [D, Dv]
	InProjBias    = "in_proj_bias"    // [3D]
	OutProjWeight = "out_proj.weight" // [D, D]
	OutProjBias   = "out_proj.bias"   // [D]
)

// ParamShapes returns the name and shape of every parameter of a module
// with this configuration.
func (c Config) ParamShapes() map[string][]int {
	c = c.withDefaults()
	D := c.DModel
	s := map[string][]int{OutProjWeight: {D, D}}
	if c.packed() {
		s[InProjWeight] = []int{3 * D, D}
	} else {
		s[QProjWeight] = []int{D, D}
		s[KProjWeight] = []int{D, c.KDim}
		s[VProjWeight] = []int{D, c.VDim}
	}
	if c.Bias {
		s[InProjBias] = []int{3 * D}
		s[OutProjBias] = []int{D}
	}
	return s
}

// New returns a module initialised as PyTorch initialises one: projection
// weights Xavier-uniform (the packed [3D,D] matrix as one), the output
// weight uniform in ±1/sqrt(D), biases zero. rng is the seeded source.
func New(cfg Config, rng *rand.Rand) (*MultiHeadAttention, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if rng == nil {
		return nil, fmt.Errorf("attention: New needs a seeded rand source")
	}
	cfg = cfg.withDefaults()
	m := &MultiHeadAttention{cfg: cfg, params: map[string]*tensor.Tensor{}}
	for _, name := range sortedKeys(cfg.ParamShapes()) {
		shape := cfg.ParamShapes()[name]
		t := tensor.Must(tensor.New(shape...))
		var bound float64
		switch name {
		case InProjWeight, QProjWeight, KProjWeight, VProjWeight:
			bound = math.Sqrt(6 / float64(shape[0]+shape[1])) // xavier_uniform_
		case OutProjWeight:
			bound = 1 / math.Sqrt(float64(shape[1])) // nn.Linear default
		}
		for i := range t.Data() {
			t.Data()[i] = float32((2*rng.Float64() - 1) * bound)
		}
		m.params[name] = t
	}
	return m, nil
}

// FromStateDict builds a module from PyTorch-named parameters. Every
// parameter the configuration needs must be present with its exact shape
// and finite values; parameters it does not use are an error.
func FromStateDict(cfg Config, sd map[string]*tensor.Tensor) (*MultiHeadAttention, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	shapes := cfg.ParamShapes()
	m := &MultiHeadAttention{cfg: cfg, params: map[string]*tensor.Tensor{}}
	for _, name := range sortedKeys(shapes) {
		t, ok := sd[name]
		if !ok || t == nil {
			return nil, fmt.Errorf("attention: state dict has no %q (shape %v) for %s", name, shapes[name], cfg)
		}
		if err := tensor.CheckShape("attention: "+name, t, shapes[name]); err != nil {
			return nil, err
		}
		if err := CheckFinite("attention: "+name, t); err != nil {
			return nil, err
		}
		m.params[name] = t.Contiguous()
	}
	for _, name := range sortedKeys(sd) {
		if _, ok := shapes[name]; !ok {
			return nil, fmt.Errorf("attention: state dict has unexpected parameter %q for %s", name, cfg)
		}
	}
	return m, nil
}

func (c Config) String() string {
	c = c.withDefaults()
	return fmt.Sprintf("MultiheadAttention(embed_dim=%d, num_heads=%d, kdim=%d, vdim=%d, bias=%v)", c.DModel, c.Heads, c.KDim, c.VDim, c.Bias)
}

// Config returns the module's configuration, with KDim and VDim filled in.
func (m *MultiHeadAttention) Config() Config { return m.cfg }

// StateDict returns the parameters by PyTorch name. The tensors are the
// module's own (not copies): writing to them changes the module.
func (m *MultiHeadAttention) StateDict() map[string]*tensor.Tensor {
	sd := make(map[string]*tensor.Tensor, len(m.params))
	for k, v := range m.params {
		sd[k] = v
	}
	return sd
}

// ForwardOptions configure one Forward call. The zero value is PyTorch's
// default evaluation call with need_weights=False.
type ForwardOptions struct {
	// Masks restrict attention; see Mask. They combine.
	Masks []Mask
	// NeedWeights asks for the attention weights.
	NeedWeights bool
	// PerHeadWeights returns weights per head [B,H,T,S] instead of their
	// mean over heads [B,T,S] (PyTorch's average_attn_weights=False).
	PerHeadWeights bool
	// Scale overrides 1/sqrt(Dh) when not zero.
	Scale float32
	// Dropout on the attention weights (training); off when P is 0.
	Dropout Dropout
}

// Forward runs multi-head attention.
//
// Shapes: query [B,T,D]; key [B,S,Dk] and value [B,S,Dv], or both nil for
// self-attention (key = value = query). It returns the output [B,T,D] and,
// when opt.NeedWeights is set, the weights [B,T,S] (mean over heads) or
// [B,H,T,S] (opt.PerHeadWeights); otherwise weights is nil.
func (m *MultiHeadAttention) Forward(query, key, value *tensor.Tensor, opt ForwardOptions) (out, weights *tensor.Tensor, err error) {
	out, weights, _, err = m.forward(query, key, value, opt, false)
	return out, weights, err
}

// MHASaved is what Backward needs from one ForwardTrain call: the inputs,
// the projected queries, keys and values, the heads' context before the
// output projection, the row log-sum-exp of the scores and the options.
// It refers to the inputs (or their contiguous copies) without copying
// them: they must not change before Backward. Memory: the projections and
// the context, (T + 2S)·D + T·D floats per sequence, plus B·H·T for lse; no
// T×S matrix (the weights, when asked for, are the caller's).
type MHASaved struct {
	m                 *MultiHeadAttention
	self              bool           // key = value = query, one packed projection
	query, key, value *tensor.Tensor // contiguous [B,T,D], [B,S,Dk], [B,S,Dv]
	q, k, v           *tensor.Tensor // projected heads [B,H,T|S,Dh], views into proj
	ctx               *tensor.Tensor // [B,T,D], the heads concatenated
	lse               *tensor.Tensor // [B,H,T]
	lseLo             []float32      // [B,H,T], the rounding residual of lse
	opt               ForwardOptions
}

// ForwardTrain is Forward that also returns the state Backward needs. The
// output and weights are the same numbers Forward returns.
func (m *MultiHeadAttention) ForwardTrain(query, key, value *tensor.Tensor, opt ForwardOptions) (out, weights *tensor.Tensor, saved *MHASaved, err error) {
	return m.forward(query, key, value, opt, true)
}

func (m *MultiHeadAttention) forward(query, key, value *tensor.Tensor, opt ForwardOptions, train bool) (out, weights *tensor.Tensor, saved *MHASaved, err error) {
	c := m.cfg
	D, H := c.DModel, c.Heads
	if err := tensor.CheckShape("attention: query", query, []int{-1, -1, D}, "B", "T", "D"); err != nil {
		return nil, nil, nil, err
	}
	B, T := query.Dim(0), query.Dim(1)
	self := key == nil && value == nil
	if self {
		key, value = query, query
	}
	if key == nil || value == nil {
		return nil, nil, nil, fmt.Errorf("attention: key and value must both be given, or both nil for self-attention")
	}
	if err := tensor.CheckShape("attention: key", key, []int{B, -1, c.KDim}, "B", "S", "kdim"); err != nil {
		return nil, nil, nil, err
	}
	S := key.Dim(1)
	if err := tensor.CheckShape("attention: value", value, []int{B, S, c.VDim}, "B", "S", "vdim"); err != nil {
		return nil, nil, nil, err
	}
	if err := validateMasks(opt.Masks, Dims{B: B, H: H, T: T, S: S}); err != nil {
		return nil, nil, nil, err
	}
	if _, err := tensor.NumElements(B, H, T, S); opt.NeedWeights && err != nil {
		return nil, nil, nil, fmt.Errorf("attention: weights [B=%d H=%d T=%d S=%d] too large: %w", B, H, T, S, err)
	}

	// Steps 1-2: project the inputs to queries, keys and values. Self-
	// attention with packed weights is one GEMM into a [B,T,3D] buffer;
	// otherwise each projection writes its own [B,N,D] buffer. Either way
	// the heads are [B,H,N,Dh] views of those buffers, never copies.
	// Training keeps the buffers (in saved); inference recycles them.
	var all []float32
	if train {
		all = make([]float32, m.scratchLen(B, T, S, self))
	} else {
		scratch := getScratch(m.scratchLen(B, T, S, self))
		defer putScratch(scratch)
		all = *scratch
	}
	buf := all
	query = query.Contiguous()
	if !self {
		key, value = key.Contiguous(), value.Contiguous()
	}
	var q, k, v *tensor.Tensor
	if self && c.packed() {
		qkv := tensor.Must(tensor.FromSlice(buf[:B*T*3*D], B, T, 3*D))
		buf = buf[B*T*3*D:]
		m.linear(qkv, query, m.params[InProjWeight].Data(), m.bias(0, 3*D))
		q, k, v = packedHeads(qkv, H)
	} else {
		proj := func(x *tensor.Tensor, p, n int) *tensor.Tensor {
			y := tensor.Must(tensor.FromSlice(buf[:B*n*D], B, n, D))
			buf = buf[B*n*D:]
			m.linear(y, x, m.weight(p), m.bias(p*D, D))
			return heads(y, H)
		}
		q, k, v = proj(query, 0, T), proj(key, 1, S), proj(value, 2, S)
	}
	nProjected := len(all) - len(buf)

	// Steps 3-5: scores, softmax and weighted sum per head, written into
	// ctx [B,T,D] through its [B,H,T,Dh] view: the heads come out already
	// concatenated (step 6, first half).
	ctx := tensor.Must(tensor.FromSlice(buf[:B*T*D], B, T, D))
	var w, lse *tensor.Tensor
	var lseLo []float32
	if opt.NeedWeights {
		w = tensor.Must(tensor.New(B, H, T, S))
	}
	if train {
		lse = tensor.Must(tensor.New(B, H, T))
		lseLo = make([]float32, B*H*T)
	}
	err = sdpa(heads(ctx, H), q, k, v, Options{
		Scale: opt.Scale, Masks: opt.Masks, Dropout: opt.Dropout, Weights: w, LSE: lse, lseLo: lseLo,
	}, true, false)
	if err != nil {
		return nil, nil, nil, err
	}

	// Step 6: the output projection.
	out = tensor.Must(tensor.New(B, T, D))
	var bo []float32
	if b := m.params[OutProjBias]; b != nil {
		bo = b.Data()
	}
	m.linear(out, ctx, m.params[OutProjWeight].Data(), bo)
	if !finite(out) {
		// Find the cause only now: an input, else the stage that overflowed.
		inputs := []named{{"query", query}, {"key", key}, {"value", value}}
		projected := tensor.Must(tensor.FromSlice(all[:nProjected], nProjected))
		if err := checkOutput(projected, "the input projection", inputs...); err != nil {
			return nil, nil, nil, err
		}
		return nil, nil, nil, checkOutput(out, "the attention or the output projection")
	}
	if train {
		saved = &MHASaved{m: m, self: self, query: query, q: q, k: k, v: v, ctx: ctx, lse: lse, lseLo: lseLo, opt: opt}
		if !self {
			saved.key, saved.value = key, value
		}
	}
	if !opt.NeedWeights || opt.PerHeadWeights {
		return out, w, saved, nil
	}
	return out, averageHeads(w), saved, nil
}

// packedHeads views a packed [B,T,3D] projection as the q, k and v heads
// [B,H,T,Dh].
func packedHeads(qkv *tensor.Tensor, H int) (q, k, v *tensor.Tensor) {
	B, T, D := qkv.Dim(0), qkv.Dim(1), qkv.Dim(2)/3
	split := tensor.Must(qkv.Reshape(B, T, 3, H, D/H))
	views := make([]*tensor.Tensor, 3)
	for p := range views {
		s := tensor.Must(split.Select(2, p))
		views[p] = tensor.Must(s.Permute(0, 2, 1, 3))
	}
	return views[0], views[1], views[2]
}

// Backward adds into grads the gradients of the loss with respect to every
// parameter, and returns those with respect to the inputs, given dout
// [B,T,D], the gradient with respect to ForwardTrain's output, and
// optionally dweights, the gradient with respect to the weights it
// returned ([B,T,S] averaged or [B,H,T,S] per head, as returned; nil when
// the loss does not use them).
//
// grads is keyed by PyTorch parameter name (InProjWeight, OutProjBias, ...,
// as in StateDict); each gradient is added into the tensor present, or into
// a new zero tensor stored in the map when the name is missing. For
// self-attention (ForwardTrain called with key and value nil) dquery holds
// the whole input gradient (the sum over its three uses) and dkey, dvalue
// are nil; for cross-attention the three are separate. Fully masked query
// rows contribute nothing to the attention's gradients (their context is
// the constant zero); additive masks get no gradient.
//
// Without dweights the fused backward runs; with it, the reference path.
// Backward does not change saved: it may be called again (the gradients
// then add up).
func (m *MultiHeadAttention) Backward(saved *MHASaved, dout, dweights *tensor.Tensor, grads map[string]*tensor.Tensor) (dquery, dkey, dvalue *tensor.Tensor, err error) {
	if saved == nil || saved.m != m {
		return nil, nil, nil, fmt.Errorf("attention: Backward needs the saved state of this module's ForwardTrain")
	}
	if grads == nil {
		return nil, nil, nil, fmt.Errorf("attention: Backward needs a gradient map (it may be empty)")
	}
	c := m.cfg
	D, H := c.DModel, c.Heads
	B, T := saved.query.Dim(0), saved.query.Dim(1)
	S := saved.k.Dim(2)
	if err := tensor.CheckShape("attention: output gradient", dout, []int{B, T, D}, "B", "T", "D"); err != nil {
		return nil, nil, nil, err
	}
	if err := CheckFinite("attention: output gradient", dout); err != nil {
		return nil, nil, nil, err
	}
	dW, err := saved.weightsGrad(dweights, H)
	if err != nil {
		return nil, nil, nil, err
	}
	shapes := c.ParamShapes()
	for _, name := range sortedKeys(shapes) {
		g, ok := grads[name]
		if !ok || g == nil {
			grads[name] = tensor.Must(tensor.New(shapes[name]...))
			continue
		}
		if err := tensor.CheckShape("attention: gradient "+name, g, shapes[name]); err != nil {
			return nil, nil, nil, err
		}
		if !g.IsContiguous() {
			return nil, nil, nil, fmt.Errorf("attention: gradient %s has strides %v; it must be contiguous", name, g.Strides())
		}
	}
	for _, name := range sortedKeys(grads) {
		if _, ok := shapes[name]; !ok {
			return nil, nil, nil, fmt.Errorf("attention: gradient map has %q, which is not a parameter of %s", name, c)
		}
	}
	gdata := func(name string) []float32 { return flatOf(grads[name]) }

	// Step 6 backward: out = ctx·W_Oᵀ + b_O.
	dy := dout.Contiguous().Data()
	BT := B * T
	kernel.Gemm(true, false, D, D, BT, 1, dy, D, saved.ctx.Data(), D, 1, gdata(OutProjWeight), D)
	if c.Bias {
		addColSums(gdata(OutProjBias), dy, BT, D)
	}
	dctx := tensor.Must(tensor.New(B, T, D))
	kernel.Gemm(false, false, BT, D, D, 1, dy, D, m.params[OutProjWeight].Data(), D, 0, dctx.Data(), D)

	// Steps 3-5 backward: the attention of every head.
	packed := saved.self && c.packed()
	var dproj *tensor.Tensor
	var dq, dk, dv *tensor.Tensor
	if packed {
		dproj = tensor.Must(tensor.New(B, T, 3*D))
		dq, dk, dv = packedHeads(dproj, H)
	} else {
		dproj = tensor.Must(tensor.New(B * (T + 2*S) * D))
		d := dproj.Data()
		dq = heads(tensor.Must(tensor.FromSlice(d[:B*T*D], B, T, D)), H)
		dk = heads(tensor.Must(tensor.FromSlice(d[B*T*D:B*(T+S)*D], B, S, D)), H)
		dv = heads(tensor.Must(tensor.FromSlice(d[B*(T+S)*D:], B, S, D)), H)
	}
	opt := Options{Scale: saved.opt.Scale, Masks: saved.opt.Masks, Dropout: saved.opt.Dropout}
	err = sdpaBackward(dq, dk, dv, heads(dctx, H), saved.q, saved.k, saved.v, heads(saved.ctx, H), saved.lse, saved.lseLo, dW, opt, dW == nil)
	if err != nil {
		return nil, nil, nil, err
	}

	// Steps 1-2 backward: y = x·Wᵀ + b for each projection.
	if packed {
		x := saved.query.Data()
		g := dproj.Data()
		kernel.Gemm(true, false, 3*D, D, BT, 1, g, 3*D, x, D, 1, gdata(InProjWeight), D)
		if c.Bias {
			addColSums(gdata(InProjBias), g, BT, 3*D)
		}
		dquery = tensor.Must(tensor.New(B, T, D))
		kernel.Gemm(false, false, BT, D, 3*D, 1, g, 3*D, m.params[InProjWeight].Data(), D, 0, dquery.Data(), D)
		return dquery, nil, nil, checkGradient("query", dquery)
	}
	// Cross-attention (self-attention always has packed weights, D = kdim
	// = vdim, and took the branch above).
	inputs := []*tensor.Tensor{saved.query, saved.key, saved.value}
	d := dproj.Data()
	offs := []int{0, B * T * D, B * (T + S) * D, B * (T + 2*S) * D}
	dx := make([]*tensor.Tensor, 3)
	for p, x := range inputs {
		rows, in := x.Dim(0)*x.Dim(1), x.Dim(2)
		g := d[offs[p]:offs[p+1]]
		var gw []float32
		if c.packed() {
			gw = gdata(InProjWeight)[p*D*D : (p+1)*D*D]
		} else {
			gw = gdata([]string{QProjWeight, KProjWeight, VProjWeight}[p])
		}
		kernel.Gemm(true, false, D, in, rows, 1, g, D, x.Data(), in, 1, gw, in)
		if c.Bias {
			addColSums(gdata(InProjBias)[p*D:(p+1)*D], g, rows, D)
		}
		dx[p] = tensor.Must(tensor.New(x.Shape()...))
		kernel.Gemm(false, false, rows, in, D, 1, g, D, m.weight(p), in, 0, dx[p].Data(), in)
	}
	for p, name := range []string{"query", "key", "value"} {
		if err := checkGradient(name, dx[p]); err != nil {
			return nil, nil, nil, err
		}
	}
	return dx[0], dx[1], dx[2], nil
}

// weightsGrad turns the gradient with respect to the returned weights into
// one per head [B,H,T,S] (nil when there is none): averaged weights are the
// mean over heads, so each head receives dweights/H.
func (s *MHASaved) weightsGrad(dweights *tensor.Tensor, H int) (*tensor.Tensor, error) {
	if dweights == nil {
		return nil, nil
	}
	if !s.opt.NeedWeights {
		return nil, fmt.Errorf("attention: a weights gradient was given but ForwardTrain returned no weights (NeedWeights is false)")
	}
	B, T, S := s.q.Dim(0), s.q.Dim(2), s.k.Dim(2)
	if s.opt.PerHeadWeights {
		if err := tensor.CheckShape("attention: weights gradient", dweights, []int{B, H, T, S}, "B", "H", "T", "S"); err != nil {
			return nil, err
		}
		return dweights.Contiguous(), nil
	}
	if err := tensor.CheckShape("attention: weights gradient", dweights, []int{B, T, S}, "B", "T", "S"); err != nil {
		return nil, err
	}
	src := dweights.Contiguous().Data()
	dw := tensor.Must(tensor.New(B, H, T, S))
	inv := 1 / float32(H)
	for b := 0; b < B; b++ {
		for h := 0; h < H; h++ {
			dst := dw.Data()[(b*H+h)*T*S : (b*H+h+1)*T*S]
			for i, x := range src[b*T*S : (b+1)*T*S] {
				dst[i] = x * inv
			}
		}
	}
	return dw, nil
}

// checkGradient reports an input gradient that overflowed float32.
func checkGradient(name string, g *tensor.Tensor) error {
	if idx, bad := g.FirstNonFinite(); bad {
		return fmt.Errorf("attention: the %s gradient is %v at %v: it overflowed float32 (gradients or weights too large)", name, g.At(idx...), idx)
	}
	return nil
}

// addColSums adds the column sums of x [rows, cols] into dst [cols]. The
// sums run in float64: a bias gradient sums B·T rows, and float32 would
// carry up to B·T·2^-24 of relative error.
func addColSums(dst, x []float32, rows, cols int) {
	sum := make([]float64, cols)
	for r := 0; r < rows; r++ {
		for c, v := range x[r*cols : (r+1)*cols] {
			sum[c] += float64(v)
		}
	}
	for c, v := range sum {
		dst[c] += float32(v)
	}
}

// scratchLen is the number of floats Forward needs for the projections and
// the attention context.
func (m *MultiHeadAttention) scratchLen(B, T, S int, self bool) int {
	D := m.cfg.DModel
	if self && m.cfg.packed() {
		return B*T*3*D + B*T*D
	}
	return B*T*D + 2*B*S*D + B*T*D
}

// weight returns the [D, in] weight of projection p (0 = query, 1 = key,
// 2 = value).
func (m *MultiHeadAttention) weight(p int) []float32 {
	D := m.cfg.DModel
	if m.cfg.packed() {
		return m.params[InProjWeight].Data()[p*D*D : (p+1)*D*D]
	}
	return m.params[[]string{QProjWeight, KProjWeight, VProjWeight}[p]].Data()
}

// bias returns in_proj_bias[off:off+n], or nil without biases.
func (m *MultiHeadAttention) bias(off, n int) []float32 {
	if b := m.params[InProjBias]; b != nil {
		return b.Data()[off : off+n]
	}
	return nil
}

// linear computes y [B,N,out] = x [B,N,in]·Wᵀ + bias.
func (m *MultiHeadAttention) linear(y, x *tensor.Tensor, w, bias []float32) {
	rows, in, out := x.Dim(0)*x.Dim(1), x.Dim(2), y.Dim(2)
	kernel.Linear(y.Data(), out, x.Data(), in, w, in, bias, rows, in, out)
}

// scratchPool recycles Forward's intermediate buffers: fresh memory is
// slow to touch the first time, and a server calls Forward again and again
// with similar shapes.
var scratchPool sync.Pool

func getScratch(n int) *[]float32 {
	if p, ok := scratchPool.Get().(*[]float32); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	s := make([]float32, n)
	return &s
}

func putScratch(p *[]float32) { scratchPool.Put(p) }

// heads views x [B,N,D] as [B,H,N,D/H] without copying.
func heads(x *tensor.Tensor, H int) *tensor.Tensor {
	B, N, D := x.Dim(0), x.Dim(1), x.Dim(2)
	v := tensor.Must(x.Reshape(B, N, H, D/H))
	return tensor.Must(v.Permute(0, 2, 1, 3))
}

// averageHeads returns the mean over heads of w [B,H,T,S] as [B,T,S].
func averageHeads(w *tensor.Tensor) *tensor.Tensor {
	B, H, T, S := w.Dim(0), w.Dim(1), w.Dim(2), w.Dim(3)
	avg := tensor.Must(tensor.New(B, T, S))
	a := avg.Data()
	for b := 0; b < B; b++ {
		dst := a[b*T*S : (b+1)*T*S]
		for h := 0; h < H; h++ {
			kernel.Axpy(1, w.Data()[(b*H+h)*T*S:(b*H+h+1)*T*S], dst)
		}
		for i := range dst {
			dst[i] /= float32(H)
		}
	}
	return avg
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
