package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/attn-go/attn/attention"
)

// Shape legend: B sequences of T tokens, D width, H heads, F = 4D
// feed-forward width, V vocabulary, N = B·T rows.

// GPTConfig describes a decoder-only Transformer in GPT-2's arrangement
// (pre-LN blocks, learned positions, tanh GELU, final LayerNorm, head tied
// to the token embedding). Names follow nanoGPT.
type GPTConfig struct {
	Vocab   int     `json:"vocab_size"`
	Context int     `json:"block_size"`
	Layers  int     `json:"n_layer"`
	Heads   int     `json:"n_head"`
	DModel  int     `json:"n_embd"`
	Dropout float32 `json:"dropout"`
	Eps     float32 `json:"layer_norm_eps"`
	// UntiedHead gives the output its own weight ("lm_head.weight"
	// [V, D]) instead of sharing wte, as GPT-2 does.
	UntiedHead bool `json:"untied_head,omitempty"`
}

// GPTPreset returns "gpt2" (the 124M shape), or "small" (a model that
// trains on the synthetic tasks in minutes).
func GPTPreset(name string, vocab int) (GPTConfig, error) {
	c := GPTConfig{Vocab: vocab, Eps: 1e-5}
	switch name {
	case "gpt2":
		c.Context, c.Layers, c.Heads, c.DModel = 1024, 12, 12, 768
	case "small":
		c.Context, c.Layers, c.Heads, c.DModel = 64, 2, 4, 64
	default:
		return c, fmt.Errorf("nn: unknown GPT preset %q (gpt2, small)", name)
	}
	return c, c.Validate()
}

// Validate checks the configuration.
func (c GPTConfig) Validate() error {
	switch {
	case c.Vocab < 2 || c.Context < 1 || c.Layers < 1 || c.Heads < 1 || c.DModel < 1:
		return fmt.Errorf("nn: gpt vocab_size=%d block_size=%d n_layer=%d n_head=%d n_embd=%d, want vocab >= 2 and the rest >= 1", c.Vocab, c.Context, c.Layers, c.Heads, c.DModel)
	case c.DModel%c.Heads != 0:
		return fmt.Errorf("nn: gpt n_head %d does not divide n_embd %d", c.Heads, c.DModel)
	case !(c.Dropout >= 0 && c.Dropout < 1):
		return fmt.Errorf("nn: gpt dropout %v, want [0, 1)", c.Dropout)
	case !(c.Eps > 0):
		return fmt.Errorf("nn: gpt layer_norm_eps %v, want > 0", c.Eps)
	}
	for _, n := range []int{c.Vocab, c.Context, c.Layers, c.DModel} {
		if n > 1<<20 {
			return fmt.Errorf("nn: gpt size %d is beyond what this implementation trains (2^20)", n)
		}
	}
	return nil
}

type gptBlock struct {
	ln1, ln2 layerNorm
	attn     attnBlock
	mlp      ffn
}

// GPT is a trainable decoder-only model. Parameter names are nanoGPT's
// (transformer.wte.weight, transformer.h.0.attn.c_attn.weight [3D, D] in
// nn.Linear layout, …, transformer.ln_f.bias); lm_head is tied to wte.
type GPT struct {
	Config GPTConfig
	wte    *Param
	wpe    *Param
	head   *Param // wte, or lm_head.weight
	blocks []gptBlock
	lnf    layerNorm
	params []*Param
	// scratch holds the buffers of Loss passes between calls.
	scratch scratches
}

// NewGPT builds a model with GPT-2's initialisation: N(0, 0.02) weights,
// the residual projections scaled by 1/sqrt(2·layers), zero biases, unit
// LayerNorm gains, from a seeded source.
func NewGPT(c GPTConfig, rng *rand.Rand) (*GPT, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if rng == nil {
		return nil, fmt.Errorf("nn: NewGPT needs a seeded rand source")
	}
	D := c.DModel
	m := &GPT{Config: c}
	add := func(name string, noDecay bool, std float64, shape ...int) *Param {
		p := NewParam(name, noDecay, shape...)
		for i := range p.W {
			p.W[i] = float32(rng.NormFloat64() * std)
		}
		m.params = append(m.params, p)
		return p
	}
	ln := func(name string) layerNorm {
		n := layerNorm{add(name+".weight", true, 0, D), add(name+".bias", true, 0, D)}
		for i := range n.w.W {
			n.w.W[i] = 1
		}
		return n
	}
	proj := 0.02 / math.Sqrt(float64(2*c.Layers))
	m.wte = add("transformer.wte.weight", true, 0.02, c.Vocab, D)
	m.wpe = add("transformer.wpe.weight", true, 0.02, c.Context, D)
	for l := range c.Layers {
		p := fmt.Sprintf("transformer.h.%d.", l)
		b := gptBlock{ln1: ln(p + "ln_1")}
		b.attn = attnBlock{
			inW: add(p+"attn.c_attn.weight", false, 0.02, 3*D, D), inB: add(p+"attn.c_attn.bias", true, 0, 3*D),
			outW: add(p+"attn.c_proj.weight", false, proj, D, D), outB: add(p+"attn.c_proj.bias", true, 0, D),
		}
		b.ln2 = ln(p + "ln_2")
		b.mlp = ffn{add(p+"mlp.c_fc.weight", false, 0.02, 4*D, D), add(p+"mlp.c_fc.bias", true, 0, 4*D),
			add(p+"mlp.c_proj.weight", false, proj, D, 4*D), add(p+"mlp.c_proj.bias", true, 0, D)}
		m.blocks = append(m.blocks, b)
	}
	m.lnf = ln("transformer.ln_f")
	m.head = m.wte
	if c.UntiedHead {
		m.head = add("lm_head.weight", false, 0.02, c.Vocab, D)
	}
	return m, nil
}

// Params returns the learnable tensors in a fixed order.
func (m *GPT) Params() []*Param { return m.params }

// LMBatch is B sequences of T tokens with next-token labels (Ignore where
// a position does not count).
type LMBatch struct {
	B, T   int
	IDs    []int // [B·T]
	Labels []int // [B·T]
	Ignore int
}

type gptPass struct {
	rn    run
	ids   []int
	off   uint64
	subs  [][2]sublayer
	attn  []attnState
	mlp   []ffnState
	final normState
	out   []float32
}

// forward runs the blocks on ids [B·T] and leaves the final hidden states
// [B·T, D] in p.out, saving what backward needs.
func (m *GPT) forward(p *gptPass, ids []int, B, T int) {
	c := m.Config
	D, n := c.DModel, B*T
	sc := p.rn.sc
	x := sc.floats(n * D)
	EmbeddingForward(x, m.wte.W, ids, D)
	LearnedPositionsForward(x, m.wpe.W, B, T, 0, D)
	p.off = p.rn.nextSite()
	h := sc.floats(n * D)
	p.rn.dropout(h, x, p.off)
	p.subs = make([][2]sublayer, c.Layers)
	p.attn = make([]attnState, c.Layers)
	p.mlp = make([]ffnState, c.Layers)
	causal := []attention.Mask{attention.Causal{}}
	for l := range m.blocks {
		b := &m.blocks[l]
		p.subs[l] = [2]sublayer{{norm: b.ln1, pre: true, d: D, eps: c.Eps}, {norm: b.ln2, pre: true, d: D, eps: c.Eps}}
		p.attn[l] = attnState{blk: &b.attn, self: true, b: B, tq: T, tk: T, d: D, h: c.Heads, masks: causal, sc: sc}
		p.mlp[l] = ffnState{f: &b.mlp, n: n, d: D, ff: 4 * D, gelu: true, sc: sc}
		h = p.subs[l][0].forward(&p.rn, h, n, p.attn[l].forward)
		h = p.subs[l][1].forward(&p.rn, h, n, p.mlp[l].forward)
	}
	p.final = normState{x: h, mean: sc.floats(n), rstd: sc.floats(n)}
	p.out = sc.floats(n * D)
	LayerNormForward(p.out, p.final.mean, p.final.rstd, h, m.lnf.w.W, m.lnf.b.W, n, D, c.Eps)
}

// Greedy continues each prefix with its argmax token until eos (not
// included in the result) or maxNew tokens, recomputing the prefix at every
// step (the training-time model keeps no cache; package models has the
// cached decoder for inference).
func (m *GPT) Greedy(prefixes [][]int, eos, maxNew int) (_ [][]int, err error) {
	defer catchNumeric(&err)
	c := m.Config
	B := len(prefixes)
	seqs := make([][]int, B)
	outs := make([][]int, B)
	done := make([]bool, B)
	for i, pfx := range prefixes {
		if len(pfx) == 0 || len(pfx)+maxNew > c.Context {
			return nil, fmt.Errorf("nn: gpt prefix %d has %d tokens; with %d new ones it must fit the context of %d", i, len(pfx), maxNew, c.Context)
		}
		for j, id := range pfx {
			if id < 0 || id >= c.Vocab {
				return nil, fmt.Errorf("nn: token %d at index %d of prefix %d is outside the vocabulary [0, %d)", id, j, i, c.Vocab)
			}
		}
		seqs[i] = append([]int(nil), pfx...)
	}
	row := make([]float32, c.Vocab)
	for step := 0; step < maxNew; step++ {
		T := 0
		for i := range seqs {
			T = max(T, len(seqs[i]))
		}
		// Right-padding is harmless under the causal mask: a position never
		// sees the ones after it.
		ids := make([]int, B*T)
		for i, sq := range seqs {
			copy(ids[i*T:], sq)
		}
		p := &gptPass{}
		m.forward(p, ids, B, T)
		all := true
		for i := range seqs {
			if done[i] {
				continue
			}
			last := i*T + len(seqs[i]) - 1
			LinearForward(row, p.out[last*c.DModel:(last+1)*c.DModel], m.head.W, nil, 1, c.DModel, c.Vocab)
			next := argmax(row)
			if next == eos {
				done[i] = true
				continue
			}
			seqs[i] = append(seqs[i], next)
			outs[i] = append(outs[i], next)
			all = false
		}
		if all {
			break
		}
	}
	return outs, nil
}

// Loss runs the model on a batch and returns the cross-entropy (with label
// smoothing) over counted labels; with Backward it adds the gradients of
// the mean loss into the parameters.
func (m *GPT) Loss(bt *LMBatch, opt TrainOptions) (st LossStats, err error) {
	defer catchNumeric(&err)
	c := m.Config
	B, T, D, V := bt.B, bt.T, c.DModel, c.Vocab
	if err := m.checkIDs(bt.IDs, B, T); err != nil {
		return st, err
	}
	if len(bt.Labels) != B*T {
		return st, fmt.Errorf("nn: gpt batch has %d labels, want B·T = %d", len(bt.Labels), B*T)
	}
	for i, l := range bt.Labels {
		if l != bt.Ignore && (l < 0 || l >= V) {
			return st, fmt.Errorf("nn: label %d at index %d is outside the vocabulary [0, %d)", l, i, V)
		}
	}
	n := B * T
	sc := m.scratch.get()
	defer m.scratch.put(sc)
	p := &gptPass{rn: run{train: opt.Dropout, p: c.Dropout, seed: opt.Seed, sc: sc}, ids: bt.IDs}
	m.forward(p, bt.IDs, B, T)
	st, dout, err := outputLoss(sc, m.head, p.out, bt.Labels, bt.Ignore, D, V, opt)
	if err != nil || dout == nil {
		return st, err
	}
	dh := sc.floats(n * D)
	LayerNormBackward(dh, m.lnf.w.G, m.lnf.b.G, dout, p.final.x, m.lnf.w.W, p.final.mean, p.final.rstd, n, D)
	for l := len(m.blocks) - 1; l >= 0; l-- {
		dh = p.subs[l][1].backward(&p.rn, dh, n, p.mlp[l].backward)
		at := &p.attn[l]
		dh = p.subs[l][0].backward(&p.rn, dh, n, func(d []float32) []float32 { return at.backward(d, nil) })
	}
	dx := sc.floats(n * D)
	p.rn.dropoutBack(dx, dh, p.off)
	EmbeddingBackward(m.wte.G, dx, bt.IDs, D)
	LearnedPositionsBackward(m.wpe.G, dx, B, T, 0, D)
	return st, nil
}

// checkIDs validates B sequences of T token ids [B·T] for the model.
func (m *GPT) checkIDs(ids []int, B, T int) error {
	c := m.Config
	switch {
	case B < 1 || T < 1 || T > c.Context:
		return fmt.Errorf("nn: gpt batch B=%d T=%d, want B >= 1 and T in 1..%d", B, T, c.Context)
	case len(ids) != B*T:
		return fmt.Errorf("nn: gpt batch has %d ids, want B·T = %d", len(ids), B*T)
	}
	for i, id := range ids {
		if id < 0 || id >= c.Vocab {
			return fmt.Errorf("nn: token %d at index %d is outside the vocabulary [0, %d)", id, i, c.Vocab)
		}
	}
	return nil
}

// Logits runs the model in evaluation mode (no dropout) on B sequences of
// T tokens, ids [B·T], and returns the logits [B·T, V].
func (m *GPT) Logits(ids []int, B, T int) (_ []float32, err error) {
	defer catchNumeric(&err)
	if err := m.checkIDs(ids, B, T); err != nil {
		return nil, err
	}
	c := m.Config
	sc := m.scratch.get()
	defer m.scratch.put(sc)
	p := &gptPass{rn: run{sc: sc}, ids: ids}
	m.forward(p, ids, B, T)
	logits := make([]float32, B*T*c.Vocab)
	LinearForward(logits, p.out, m.head.W, nil, B*T, c.DModel, c.Vocab)
	return logits, nil
}
