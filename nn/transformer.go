package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/attn-go/attn/attention"
	"github.com/attn-go/attn/tensor"
)

// Shape legend for this file:
//
//	B  batch         S  source length     T  target length
//	D  d_model       H  heads, Dh = D/H   F  feed-forward width
//	V  vocabulary    N  rows of a [rows, ·] activation (B·S or B·T)

// TransformerConfig describes the encoder-decoder Transformer of Vaswani
// et al. (2017). Field names follow PyTorch's nn.Transformer.
type TransformerConfig struct {
	Vocab     int     `json:"vocab"`
	DModel    int     `json:"d_model"`
	Heads     int     `json:"nhead"`
	DFF       int     `json:"dim_feedforward"`
	EncLayers int     `json:"num_encoder_layers"`
	DecLayers int     `json:"num_decoder_layers"`
	Dropout   float32 `json:"dropout"`
	Context   int     `json:"max_len"`
	// NormFirst selects pre-LN (x + f(LN(x))) instead of the paper's post-LN
	// (LN(x + f(x))); pre-LN stacks end with a final LayerNorm.
	NormFirst bool    `json:"norm_first"`
	Eps       float32 `json:"layer_norm_eps"`
	// UntiedHead gives the output projection its own weight
	// ("generator.weight" [V, D]) instead of tying it to the embedding as
	// the paper does (section 3.4).
	UntiedHead bool `json:"separate_output,omitempty"`
}

// TransformerPreset returns a named configuration: "base" and "big" are
// the paper's (Table 3), "small" is a model that learns the synthetic tasks
// of package train in minutes on a laptop.
func TransformerPreset(name string, vocab int) (TransformerConfig, error) {
	c := TransformerConfig{Vocab: vocab, Context: 512, Eps: 1e-5}
	switch name {
	case "base":
		c.DModel, c.Heads, c.DFF, c.EncLayers, c.DecLayers, c.Dropout = 512, 8, 2048, 6, 6, 0.1
	case "big":
		c.DModel, c.Heads, c.DFF, c.EncLayers, c.DecLayers, c.Dropout = 1024, 16, 4096, 6, 6, 0.3
	case "small":
		c.DModel, c.Heads, c.DFF, c.EncLayers, c.DecLayers, c.Dropout, c.Context = 64, 4, 256, 2, 2, 0, 64
	default:
		return c, fmt.Errorf("nn: unknown transformer preset %q (base, big, small)", name)
	}
	return c, c.Validate()
}

// Validate checks the configuration.
func (c TransformerConfig) Validate() error {
	switch {
	case c.Vocab < 4:
		return fmt.Errorf("nn: transformer vocab %d, want >= 4", c.Vocab)
	case c.DModel < 1 || c.Heads < 1 || c.DFF < 1 || c.Context < 1:
		return fmt.Errorf("nn: transformer d_model=%d nhead=%d dim_feedforward=%d max_len=%d, want all >= 1", c.DModel, c.Heads, c.DFF, c.Context)
	case c.DModel%c.Heads != 0:
		return fmt.Errorf("nn: transformer nhead %d does not divide d_model %d", c.Heads, c.DModel)
	case c.EncLayers < 1 || c.DecLayers < 1:
		return fmt.Errorf("nn: transformer has %d encoder and %d decoder layers, want at least 1 of each", c.EncLayers, c.DecLayers)
	case !(c.Dropout >= 0 && c.Dropout < 1):
		return fmt.Errorf("nn: transformer dropout %v, want [0, 1)", c.Dropout)
	case !(c.Eps > 0):
		return fmt.Errorf("nn: transformer layer_norm_eps %v, want > 0", c.Eps)
	}
	for _, n := range []int{c.Vocab, c.DModel, c.DFF, c.Context, c.EncLayers, c.DecLayers} {
		if n > 1<<20 {
			return fmt.Errorf("nn: transformer size %d is beyond what this implementation trains (2^20)", n)
		}
	}
	return nil
}

type encLayer struct {
	self   attnBlock
	ff     ffn
	n1, n2 layerNorm
}

type decLayer struct {
	self, cross attnBlock
	ff          ffn
	n1, n2, n3  layerNorm
}

// Transformer is the paper's encoder-decoder model with a shared token
// embedding (scaled by sqrt(D)), sinusoidal positions, and the output
// projection tied to the embedding, as in section 3.4.
type Transformer struct {
	Config TransformerConfig
	embed  *Param
	out    *Param // the output projection: embed, or generator.weight
	enc    []encLayer
	dec    []decLayer
	encN   layerNorm // pre-LN only
	decN   layerNorm // pre-LN only
	params []*Param
	pe     []float32 // [MaxLen, D]
	// scratch holds the buffers of Loss passes between calls.
	scratch scratches
}

// NewTransformer builds a model with PyTorch's initialisation: Xavier
// uniform for matrices (nn.Transformer's _reset_parameters), zero biases,
// unit norm gains, N(0, D^−1/2) embeddings (so the scaled embedding has
// unit variance), from a seeded source.
func NewTransformer(c TransformerConfig, rng *rand.Rand) (*Transformer, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return newTransformer(c, rng)
}

// newTransformer builds the layers c asks for; an encoder-only model has
// DecLayers 0 (and then no decoder norm).
func newTransformer(c TransformerConfig, rng *rand.Rand) (*Transformer, error) {
	if rng == nil {
		return nil, fmt.Errorf("nn: NewTransformer needs a seeded rand source")
	}
	D, F := c.DModel, c.DFF
	m := &Transformer{Config: c}
	add := func(name string, noDecay bool, shape ...int) *Param {
		p := NewParam(name, noDecay, shape...)
		m.params = append(m.params, p)
		return p
	}
	xavier := func(p *Param) {
		fanOut, fanIn := p.Shape[0], p.Shape[1]
		bound := math.Sqrt(6 / float64(fanIn+fanOut))
		uniform(p.W, bound, rng)
	}
	ln := func(name string) layerNorm {
		n := layerNorm{add(name+".weight", true, D), add(name+".bias", true, D)}
		for i := range n.w.W {
			n.w.W[i] = 1
		}
		return n
	}
	attn := func(prefix string) attnBlock {
		a := attnBlock{
			inW: add(prefix+".in_proj_weight", false, 3*D, D), inB: add(prefix+".in_proj_bias", true, 3*D),
			outW: add(prefix+".out_proj.weight", false, D, D), outB: add(prefix+".out_proj.bias", true, D),
		}
		xavier(a.inW)
		xavier(a.outW)
		return a
	}
	ff := func(prefix string) ffn {
		f := ffn{add(prefix+".linear1.weight", false, F, D), add(prefix+".linear1.bias", true, F),
			add(prefix+".linear2.weight", false, D, F), add(prefix+".linear2.bias", true, D)}
		xavier(f.w1)
		xavier(f.w2)
		return f
	}
	m.embed = add("embedding.weight", true, c.Vocab, D)
	for i := range m.embed.W {
		m.embed.W[i] = float32(rng.NormFloat64() / math.Sqrt(float64(D)))
	}
	for l := range c.EncLayers {
		p := fmt.Sprintf("encoder.layers.%d", l)
		m.enc = append(m.enc, encLayer{self: attn(p + ".self_attn"), ff: ff(p), n1: ln(p + ".norm1"), n2: ln(p + ".norm2")})
	}
	for l := range c.DecLayers {
		p := fmt.Sprintf("decoder.layers.%d", l)
		m.dec = append(m.dec, decLayer{self: attn(p + ".self_attn"), cross: attn(p + ".multihead_attn"), ff: ff(p),
			n1: ln(p + ".norm1"), n2: ln(p + ".norm2"), n3: ln(p + ".norm3")})
	}
	if c.NormFirst {
		m.encN = ln("encoder.norm")
		if c.DecLayers > 0 {
			m.decN = ln("decoder.norm")
		}
	}
	m.out = m.embed
	if c.UntiedHead {
		m.out = add("generator.weight", false, c.Vocab, D)
		xavier(m.out)
	}
	pe, err := SinusoidalEncoding(c.Context, D, 0)
	if err != nil {
		return nil, err
	}
	m.pe = pe.Data()
	return m, nil
}

// Params returns the learnable tensors in a fixed order, named like
// PyTorch's nn.Transformer (plus "embedding.weight", shared by source,
// target and output).
func (m *Transformer) Params() []*Param { return m.params }

// Seq2SeqBatch is one padded batch: Src [B·S] with SrcLen, decoder input
// TgtIn [B·T]; labels TgtOut [B·T] with Ignore where padded.
type Seq2SeqBatch struct {
	B, S, T       int
	Src, SrcLen   []int
	TgtIn, TgtOut []int
	Ignore        int
}

func (b *Seq2SeqBatch) check(c TransformerConfig) error {
	switch {
	case b.B < 1 || b.S < 1 || b.T < 1:
		return fmt.Errorf("nn: batch B=%d S=%d T=%d, want all >= 1", b.B, b.S, b.T)
	case b.S > c.Context || b.T > c.Context:
		return fmt.Errorf("nn: batch lengths S=%d T=%d exceed the model's max_len %d", b.S, b.T, c.Context)
	case len(b.Src) != b.B*b.S || len(b.SrcLen) != b.B || len(b.TgtIn) != b.B*b.T || (b.TgtOut != nil && len(b.TgtOut) != b.B*b.T):
		return fmt.Errorf("nn: batch buffers do not match B=%d S=%d T=%d", b.B, b.S, b.T)
	}
	for i, l := range b.SrcLen {
		if l < 1 || l > b.S {
			return fmt.Errorf("nn: source %d has length %d, want 1..%d", i, l, b.S)
		}
	}
	for _, ids := range [][]int{b.Src, b.TgtIn} {
		for i, id := range ids {
			if id < 0 || id >= c.Vocab {
				return fmt.Errorf("nn: token %d at index %d is outside the vocabulary [0, %d)", id, i, c.Vocab)
			}
		}
	}
	for i, id := range b.TgtOut {
		if id != b.Ignore && (id < 0 || id >= c.Vocab) {
			return fmt.Errorf("nn: label %d at index %d is outside the vocabulary [0, %d)", id, i, c.Vocab)
		}
	}
	return nil
}

// embedState is the scaled token embedding plus positions, with dropout.
type embedState struct {
	ids []int
	off uint64
}

func (m *Transformer) embedForward(rn *run, st *embedState, ids []int, b, t int) []float32 {
	D := m.Config.DModel
	scale := float32(math.Sqrt(float64(D)))
	x := rn.sc.floats(b * t * D)
	for i, id := range ids {
		row := x[i*D : (i+1)*D]
		e := m.embed.W[id*D : (id+1)*D]
		p := m.pe[(i%t)*D : (i%t+1)*D]
		for j := range row {
			row[j] = e[j]*scale + p[j]
		}
	}
	st.ids, st.off = ids, rn.nextSite()
	y := rn.sc.floats(len(x))
	rn.dropout(y, x, st.off)
	return y
}

func (m *Transformer) embedBackward(rn *run, st *embedState, dy []float32) {
	D := m.Config.DModel
	dx := rn.sc.floats(len(dy))
	rn.dropoutBack(dx, dy, st.off)
	scale := float32(math.Sqrt(float64(D)))
	for i := range dx {
		dx[i] *= scale
	}
	EmbeddingBackward(m.embed.G, dx, st.ids, D)
}

// pass is one forward pass's saved state.
type pass struct {
	rn                run
	b, s, t           int
	srcEmb, tgtEmb    embedState
	encSub            [][2]sublayer
	encAttn           []attnState
	encFF             []ffnState
	encNorm, decNorm  normState
	decSub            [][3]sublayer
	decSelf, decCross []attnState
	decFF             []ffnState
	memory            []float32 // encoder output [B·S, D]
	out               []float32 // decoder output [B·T, D]
}

func (m *Transformer) finalNorm(sc *scratch, st *normState, n layerNorm, x []float32, rows int) []float32 {
	if !m.Config.NormFirst {
		return x
	}
	D := m.Config.DModel
	st.x, st.mean, st.rstd = x, sc.floats(rows), sc.floats(rows)
	y := sc.floats(len(x))
	LayerNormForward(y, st.mean, st.rstd, x, n.w.W, n.b.W, rows, D, m.Config.Eps)
	return y
}

func (m *Transformer) finalNormBack(sc *scratch, st *normState, n layerNorm, dy []float32, rows int) []float32 {
	if !m.Config.NormFirst {
		return dy
	}
	dx := sc.floats(len(dy))
	LayerNormBackward(dx, n.w.G, n.b.G, dy, st.x, n.w.W, st.mean, st.rstd, rows, m.Config.DModel)
	return dx
}

func (m *Transformer) sub(n layerNorm) sublayer {
	return sublayer{norm: n, pre: m.Config.NormFirst, d: m.Config.DModel, eps: m.Config.Eps}
}

// forward runs encoder and decoder on a checked batch, saving what
// backward needs. crossWeights, if not nil, receives the last decoder
// layer's cross-attention weights [B, H, T, S].
func (m *Transformer) forward(p *pass, bt *Seq2SeqBatch, crossWeights *tensor.Tensor) {
	m.encode(p, bt)
	m.decode(p, bt, crossWeights)
}

// encode runs the encoder stack; p.memory is its output [B·S, D].
func (m *Transformer) encode(p *pass, bt *Seq2SeqBatch) {
	c := m.Config
	B, S, D, H := bt.B, bt.S, c.DModel, c.Heads
	p.b, p.s = B, S
	ns := B * S
	srcMask := []attention.Mask{attention.KeyLengths(bt.SrcLen)}
	x := m.embedForward(&p.rn, &p.srcEmb, bt.Src, B, S)
	p.encSub = make([][2]sublayer, len(m.enc))
	p.encAttn = make([]attnState, len(m.enc))
	p.encFF = make([]ffnState, len(m.enc))
	for l := range m.enc {
		ly := &m.enc[l]
		p.encSub[l] = [2]sublayer{m.sub(ly.n1), m.sub(ly.n2)}
		p.encAttn[l] = attnState{blk: &ly.self, self: true, b: B, tq: S, tk: S, d: D, h: H, masks: srcMask, sc: p.rn.sc}
		p.encFF[l] = ffnState{f: &ly.ff, n: ns, d: D, ff: c.DFF, sc: p.rn.sc}
		x = p.encSub[l][0].forward(&p.rn, x, ns, p.encAttn[l].forward)
		x = p.encSub[l][1].forward(&p.rn, x, ns, p.encFF[l].forward)
	}
	p.memory = m.finalNorm(p.rn.sc, &p.encNorm, m.encN, x, ns)
}

// decode runs the decoder stack on bt.TgtIn against p.memory; p.out is its
// output [B·T, D].
func (m *Transformer) decode(p *pass, bt *Seq2SeqBatch, crossWeights *tensor.Tensor) {
	c := m.Config
	B, S, T, D, H := bt.B, bt.S, bt.T, c.DModel, c.Heads
	p.t = T
	nt := B * T
	srcMask := []attention.Mask{attention.KeyLengths(bt.SrcLen)}
	y := m.embedForward(&p.rn, &p.tgtEmb, bt.TgtIn, B, T)
	p.decSub = make([][3]sublayer, len(m.dec))
	p.decSelf = make([]attnState, len(m.dec))
	p.decCross = make([]attnState, len(m.dec))
	p.decFF = make([]ffnState, len(m.dec))
	for l := range m.dec {
		ly := &m.dec[l]
		p.decSub[l] = [3]sublayer{m.sub(ly.n1), m.sub(ly.n2), m.sub(ly.n3)}
		p.decSelf[l] = attnState{blk: &ly.self, self: true, b: B, tq: T, tk: T, d: D, h: H, masks: []attention.Mask{attention.Causal{}}, sc: p.rn.sc}
		p.decCross[l] = attnState{blk: &ly.cross, b: B, tq: T, tk: S, d: D, h: H, masks: srcMask, xkv: p.memory, sc: p.rn.sc}
		if l == len(m.dec)-1 {
			p.decCross[l].weights = crossWeights
		}
		p.decFF[l] = ffnState{f: &ly.ff, n: nt, d: D, ff: c.DFF, sc: p.rn.sc}
		y = p.decSub[l][0].forward(&p.rn, y, nt, p.decSelf[l].forward)
		y = p.decSub[l][1].forward(&p.rn, y, nt, p.decCross[l].forward)
		y = p.decSub[l][2].forward(&p.rn, y, nt, p.decFF[l].forward)
	}
	p.out = m.finalNorm(p.rn.sc, &p.decNorm, m.decN, y, nt)
}

// backward takes the gradient of the decoder output and adds every
// parameter's gradient.
func (m *Transformer) backward(p *pass, dout []float32) {
	ns, nt := p.b*p.s, p.b*p.t
	D := m.Config.DModel
	dy := m.finalNormBack(p.rn.sc, &p.decNorm, m.decN, dout, nt)
	dmem := p.rn.sc.floats(ns * D)
	for l := len(m.dec) - 1; l >= 0; l-- {
		dy = p.decSub[l][2].backward(&p.rn, dy, nt, p.decFF[l].backward)
		cross := &p.decCross[l]
		dy = p.decSub[l][1].backward(&p.rn, dy, nt, func(d []float32) []float32 { return cross.backward(d, dmem) })
		self := &p.decSelf[l]
		dy = p.decSub[l][0].backward(&p.rn, dy, nt, func(d []float32) []float32 { return self.backward(d, nil) })
	}
	m.embedBackward(&p.rn, &p.tgtEmb, dy)
	m.encodeBackward(p, dmem)
}

// encodeBackward takes the gradient of the encoder output [B·S, D].
func (m *Transformer) encodeBackward(p *pass, dmem []float32) {
	ns := p.b * p.s
	dx := m.finalNormBack(p.rn.sc, &p.encNorm, m.encN, dmem, ns)
	for l := len(m.enc) - 1; l >= 0; l-- {
		dx = p.encSub[l][1].backward(&p.rn, dx, ns, p.encFF[l].backward)
		at := &p.encAttn[l]
		dx = p.encSub[l][0].backward(&p.rn, dx, ns, func(d []float32) []float32 { return at.backward(d, nil) })
	}
	m.embedBackward(&p.rn, &p.srcEmb, dx)
}

// Loss runs the model on a batch and returns the cross-entropy with label
// smoothing (labels equal to bt.Ignore do not count). With Backward, the
// gradients of the mean loss are added into the parameters.
func (m *Transformer) Loss(bt *Seq2SeqBatch, opt TrainOptions) (st LossStats, err error) {
	defer catchNumeric(&err)
	if err := bt.check(m.Config); err != nil {
		return LossStats{}, err
	}
	if bt.TgtOut == nil {
		return LossStats{}, fmt.Errorf("nn: Loss needs labels (TgtOut)")
	}
	c := m.Config
	sc := m.scratch.get()
	defer m.scratch.put(sc)
	p := &pass{rn: run{train: opt.Dropout, p: c.Dropout, seed: opt.Seed, sc: sc}}
	m.forward(p, bt, nil)
	st, dout, err := outputLoss(sc, m.out, p.out, bt.TgtOut, bt.Ignore, c.DModel, c.Vocab, opt)
	if err != nil || dout == nil {
		return st, err
	}
	m.backward(p, dout)
	return st, nil
}

// Greedy decodes each source greedily (argmax at every step) until EOS or
// maxLen tokens, starting from bos. It returns the tokens without BOS and
// EOS.
func (m *Transformer) Greedy(srcs [][]int, bos, eos, maxLen int) ([][]int, error) {
	out, _, err := m.greedy(srcs, bos, eos, maxLen, false)
	return out, err
}

// GreedyWithCross is Greedy that also returns, per source, the last
// decoder layer's cross-attention weights [H, T, S] for the decoded tokens
// (T = decoded length + 1 for EOS, S = source length): what each output
// position looked at.
func (m *Transformer) GreedyWithCross(srcs [][]int, bos, eos, maxLen int) ([][]int, []*tensor.Tensor, error) {
	return m.greedy(srcs, bos, eos, maxLen, true)
}

func (m *Transformer) greedy(srcs [][]int, bos, eos, maxLen int, wantCross bool) (_ [][]int, _ []*tensor.Tensor, err error) {
	defer catchNumeric(&err)
	c := m.Config
	B := len(srcs)
	if B == 0 {
		return nil, nil, nil
	}
	if maxLen < 1 || maxLen+1 > c.Context {
		return nil, nil, fmt.Errorf("nn: greedy maxLen %d, want 1..%d", maxLen, c.Context-1)
	}
	S := 0
	for _, s := range srcs {
		S = max(S, len(s))
	}
	bt := &Seq2SeqBatch{B: B, S: S, T: 1, Src: make([]int, B*S), Ignore: -1}
	for i, s := range srcs {
		copy(bt.Src[i*S:], s)
		bt.SrcLen = append(bt.SrcLen, len(s))
	}
	outs := make([][]int, B)
	done := make([]bool, B)
	prefix := make([][]int, B)
	for i := range prefix {
		prefix[i] = []int{bos}
	}
	var cross *tensor.Tensor
	enc := &pass{}
	bt.TgtIn = make([]int, B)
	for i := range bt.TgtIn {
		bt.TgtIn[i] = bos
	}
	if err := bt.check(c); err != nil {
		return nil, nil, err
	}
	m.encode(enc, bt)
	for t := 1; t <= maxLen+1; t++ {
		bt.T = t
		bt.TgtIn = make([]int, B*t)
		for i := range B {
			copy(bt.TgtIn[i*t:], prefix[i])
		}
		if err := bt.check(c); err != nil {
			return nil, nil, err
		}
		if wantCross {
			cross = tensor.Must(tensor.New(B, c.Heads, t, S))
		}
		p := &pass{memory: enc.memory, b: B, s: S}
		m.decode(p, bt, cross)
		D, V := c.DModel, c.Vocab
		all := true
		for i := range B {
			if done[i] {
				prefix[i] = append(prefix[i], eos)
				continue
			}
			row := make([]float32, V)
			LinearForward(row, p.out[(i*t+t-1)*D:(i*t+t)*D], m.out.W, nil, 1, D, V)
			best := argmax(row)
			prefix[i] = append(prefix[i], best)
			if best == eos || t == maxLen+1 {
				done[i] = true
			} else {
				outs[i] = append(outs[i], best)
				all = false
			}
		}
		if all {
			break
		}
	}
	var weights []*tensor.Tensor
	if wantCross {
		T := cross.Dim(2)
		for i := range B {
			n := min(len(outs[i])+1, T)
			w := tensor.Must(tensor.New(c.Heads, n, len(srcs[i])))
			for h := range c.Heads {
				for q := range n {
					copy(w.Row(h, q), cross.Row(i, h, q)[:len(srcs[i])])
				}
			}
			weights = append(weights, w)
		}
	}
	return outs, weights, nil
}
