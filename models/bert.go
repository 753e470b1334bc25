package models

import (
	"fmt"
	"math"
	"strings"

	"github.com/attn-go/attn/attention"
	"github.com/attn-go/attn/kernel"
	"github.com/attn-go/attn/nn"
	"github.com/attn-go/attn/tensor"
)

// Shapes in this file: B sequences of T tokens, width D, F feed-forward,
// H heads of Dh = D/H, L layers.

// BertConfig describes a BERT encoder (Devlin et al., 2018).
type BertConfig struct {
	Vocab, DModel, Layers, Heads, DFF, Context, TypeVocab int
	Eps                                                   float32
	Act                                                   nn.GELUKind
	PadID                                                 int
}

// Validate checks that the sizes are consistent and not absurd.
func (c *BertConfig) Validate() error {
	switch {
	case c.Vocab < 1, c.DModel < 1, c.Layers < 1, c.Heads < 1, c.DFF < 1, c.Context < 1, c.TypeVocab < 1:
		return fmt.Errorf("models: bert sizes vocab=%d hidden=%d layers=%d heads=%d intermediate=%d max_positions=%d type_vocab=%d, want all >= 1",
			c.Vocab, c.DModel, c.Layers, c.Heads, c.DFF, c.Context, c.TypeVocab)
	case c.DModel%c.Heads != 0:
		return fmt.Errorf("models: %d heads do not divide hidden_size %d", c.Heads, c.DModel)
	case !(c.Eps >= 0) || math.IsInf(float64(c.Eps), 0):
		return fmt.Errorf("models: bert layer norm eps %v, want a finite number >= 0", c.Eps)
	}
	for _, n := range []int{c.Vocab, c.DModel, c.Layers, c.DFF, c.Context, c.TypeVocab} {
		if n > 1<<24 {
			return fmt.Errorf("models: config size %d is beyond any real model (limit 2^24)", n)
		}
	}
	for _, m := range []struct {
		name string
		r, c int
	}{{"word embedding", c.Vocab, c.DModel}, {"position embedding", c.Context, c.DModel}, {"feed-forward matrix", c.DFF, c.DModel}} {
		if _, err := tensor.NumElements(m.r, m.c); err != nil {
			return fmt.Errorf("models: bert %s: %w", m.name, err)
		}
	}
	return nil
}

type bertLayer struct {
	q, k, v, o linear // as loaded; pack fuses q, k and v into qkv
	qkv        linear
	ln1, ln2   norm
	up, down   linear
}

// Bert is a loaded BERT encoder with its pooler. Read-only after loading;
// safe for concurrent Forward calls.
type Bert struct {
	Config         BertConfig
	word, pos, typ []float32
	embLN          norm
	layers         []bertLayer
	poolW, poolB   []float32
	src            source
}

// Arch returns ArchBert.
func (m *Bert) Arch() Arch { return ArchBert }

// Close releases the checkpoint's file mappings.
func (m *Bert) Close() error {
	if m.src == nil {
		return nil
	}
	err := m.src.close()
	m.src = nil
	return err
}

func buildBert(path string, hc *hfConfig, src *stSource) (*Bert, error) {
	c := BertConfig{
		Vocab: hc.VocabSize, DModel: hc.HiddenSize, Layers: hc.NumHiddenLayers, Heads: hc.NumHeads,
		DFF: hc.Intermediate, Context: hc.MaxPositions, TypeVocab: hc.TypeVocabSize,
		Eps: float32(orFloat(hc.LayerNormEps, 1e-12)), PadID: orInt(hc.PadTokenID, 0),
	}
	switch hc.HiddenAct {
	case "gelu", "":
		c.Act = nn.GELUErf
	case "gelu_new", "gelu_pytorch_tanh":
		c.Act = nn.GELUTanh
	default:
		return nil, fmt.Errorf("models: %s: hidden_act %q not supported for bert (gelu, gelu_new)", path, hc.HiddenAct)
	}
	if pt := hc.PositionType; pt != "" && pt != "absolute" {
		return nil, fmt.Errorf("models: %s: position_embedding_type %q not supported (absolute)", path, pt)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("models: %s: %s", path, strings.TrimPrefix(err.Error(), "models: "))
	}
	m := &Bert{Config: c, src: src}
	ld := newLoader(src)
	D, F := c.DModel, c.DFF
	m.word = ld.take("embeddings.word_embeddings.weight", c.Vocab, D)
	m.pos = ld.take("embeddings.position_embeddings.weight", c.Context, D)
	m.typ = ld.take("embeddings.token_type_embeddings.weight", c.TypeVocab, D)
	m.embLN = norm{ld.take("embeddings.LayerNorm.weight", D), ld.take("embeddings.LayerNorm.bias", D)}
	lin := func(name string, in, out int) linear {
		return linear{w: ld.take(name+".weight", out, in), b: ld.take(name+".bias", out), in: in, out: out}
	}
	for l := range c.Layers {
		p := fmt.Sprintf("encoder.layer.%d.", l)
		m.layers = append(m.layers, bertLayer{
			q:    lin(p+"attention.self.query", D, D),
			k:    lin(p+"attention.self.key", D, D),
			v:    lin(p+"attention.self.value", D, D),
			o:    lin(p+"attention.output.dense", D, D),
			ln1:  norm{ld.take(p+"attention.output.LayerNorm.weight", D), ld.take(p+"attention.output.LayerNorm.bias", D)},
			up:   lin(p+"intermediate.dense", D, F),
			down: lin(p+"output.dense", F, D),
			ln2:  norm{ld.take(p+"output.LayerNorm.weight", D), ld.take(p+"output.LayerNorm.bias", D)},
		})
	}
	m.poolW = ld.optional("pooler.dense.weight", D, D)
	if m.poolW != nil {
		m.poolB = ld.take("pooler.dense.bias", D)
	}
	ld.skip(func(n string) bool { return strings.HasSuffix(n, "embeddings.position_ids") })
	if err := ld.finish(); err != nil {
		return nil, err
	}
	m.pack(src.release)
	return m, nil
}

// BertInput is a batch of B sequences of T tokens, row-major.
type BertInput struct {
	B, T    int
	IDs     []int  // [B·T]
	TypeIDs []int  // [B·T] segment ids, nil for all 0
	Mask    []bool // [B·T] true for real tokens, nil for all real
}

// BertOutput is what Forward returns.
type BertOutput struct {
	Last   *tensor.Tensor // [B, T, D]
	Pooled *tensor.Tensor // [B, D], tanh(dense(first token)); nil without a pooler
	Hidden *tensor.Tensor // [L+1, B, T, D] when asked: embeddings, then each layer
}

func (m *Bert) check(in BertInput) error {
	c := m.Config
	n := in.B * in.T
	switch {
	case in.B < 1 || in.T < 1:
		return fmt.Errorf("models: bert batch B=%d T=%d, want both >= 1", in.B, in.T)
	case in.T > c.Context:
		return fmt.Errorf("models: bert input of %d tokens exceeds the %d positions of the model", in.T, c.Context)
	case len(in.IDs) != n:
		return fmt.Errorf("models: bert ids have %d entries, want B·T = %d", len(in.IDs), n)
	case in.TypeIDs != nil && len(in.TypeIDs) != n:
		return fmt.Errorf("models: bert token type ids have %d entries, want %d", len(in.TypeIDs), n)
	case in.Mask != nil && len(in.Mask) != n:
		return fmt.Errorf("models: bert attention mask has %d entries, want %d", len(in.Mask), n)
	}
	for i, id := range in.IDs {
		if id < 0 || id >= c.Vocab {
			return fmt.Errorf("models: token %d at index %d is outside the vocabulary [0, %d)", id, i, c.Vocab)
		}
		if in.TypeIDs != nil && (in.TypeIDs[i] < 0 || in.TypeIDs[i] >= c.TypeVocab) {
			return fmt.Errorf("models: token type %d at index %d is outside [0, %d)", in.TypeIDs[i], i, c.TypeVocab)
		}
	}
	return nil
}

// Forward encodes a batch. Padded keys (Mask false) are excluded from
// attention; the outputs at padded positions are computed but meaningless.
func (m *Bert) Forward(in BertInput, hidden bool) (*BertOutput, error) {
	if err := m.check(in); err != nil {
		return nil, err
	}
	c := m.Config
	B, T, D, H, F := in.B, in.T, c.DModel, c.Heads, c.DFF
	Dh := D / H
	n := B * T
	if err := tensor.CheckBudget(fmt.Sprintf("models: bert activations of %d×%d tokens", B, T), n*max(F, 3*D)); err != nil {
		return nil, err
	}
	x, err := tensor.New(B, T, D)
	if err != nil {
		return nil, err
	}
	xs := x.Data()
	for i, id := range in.IDs {
		row := xs[i*D : (i+1)*D]
		typ := 0
		if in.TypeIDs != nil {
			typ = in.TypeIDs[i]
		}
		copy(row, m.word[id*D:(id+1)*D])
		kernel.Axpy(1, m.pos[(i%T)*D:(i%T+1)*D], row)
		kernel.Axpy(1, m.typ[typ*D:(typ+1)*D], row)
	}
	nn.LayerNormRows(xs, xs, n, D, m.embLN.w, m.embLN.b, c.Eps)
	var hs *tensor.Tensor
	if hidden {
		if hs, err = tensor.New(c.Layers+1, B, T, D); err != nil {
			return nil, err
		}
		copy(hs.Data(), xs)
	}
	var masks []attention.Mask
	if in.Mask != nil {
		pad, err := attention.NewKeyPaddingMask(in.Mask, B, T)
		if err != nil {
			return nil, err
		}
		masks = []attention.Mask{pad}
	}
	qkv := make([]float32, n*3*D)
	ctx := make([]float32, n*D)
	tmp := make([]float32, n*D)
	ff := make([]float32, n*F)
	head := func(off int) *tensor.Tensor {
		return tensor.Must(tensor.View(qkv, off, []int{B, H, T, Dh}, []int{T * 3 * D, Dh, 3 * D, 1}))
	}
	q, k, v := head(0), head(D), head(2*D)
	ctxV := tensor.Must(tensor.View(ctx, 0, []int{B, H, T, Dh}, []int{T * D, Dh, D, 1}))
	for l, ly := range m.layers {
		ly.qkv.apply(qkv, 3*D, xs, D, n)
		if err := attention.ScaledDotProduct(ctxV, q, k, v, attention.Options{Masks: masks}); err != nil {
			return nil, fmt.Errorf("models: bert layer %d: %w", l, err)
		}
		ly.o.apply(tmp, D, ctx, D, n)
		kernel.Axpy(1, tmp, xs)
		nn.LayerNormRows(xs, xs, n, D, ly.ln1.w, ly.ln1.b, c.Eps)
		ly.up.apply(ff, F, xs, D, n)
		nn.GELU(ff, c.Act)
		ly.down.apply(tmp, D, ff, F, n)
		kernel.Axpy(1, tmp, xs)
		nn.LayerNormRows(xs, xs, n, D, ly.ln2.w, ly.ln2.b, c.Eps)
		if hs != nil {
			copy(hs.Data()[(l+1)*n*D:], xs)
		}
	}
	if idx, bad := x.FirstNonFinite(); bad {
		return nil, fmt.Errorf("models: bert output %v at %v is not finite: the weights hold NaN/Inf or the activations overflowed float32", x.At(idx...), idx)
	}
	out := &BertOutput{Last: x, Hidden: hs}
	if m.poolW != nil {
		out.Pooled = tensor.Must(tensor.New(B, D))
		pd := out.Pooled.Data()
		for b := range B {
			kernel.Linear(pd[b*D:(b+1)*D], D, xs[b*T*D:], D, m.poolW, D, m.poolB, 1, D, D)
		}
		for i, v := range pd {
			pd[i] = tanh32(v)
		}
	}
	return out, nil
}

// MeanPool averages last [B,T,D] over the positions mask marks real (all
// when mask is nil): the sentence embedding of sentence-transformers'
// mean pooling. A sequence with no real token gets a zero vector.
func MeanPool(last *tensor.Tensor, mask []bool) (*tensor.Tensor, error) {
	if err := tensor.CheckShape("models: mean pool input", last, []int{-1, -1, -1}, "B", "T", "D"); err != nil {
		return nil, err
	}
	B, T, D := last.Dim(0), last.Dim(1), last.Dim(2)
	if mask != nil && len(mask) != B*T {
		return nil, fmt.Errorf("models: mean pool mask has %d entries, want B·T = %d", len(mask), B*T)
	}
	xs := last.Contiguous().Values()
	out := tensor.Must(tensor.New(B, D))
	acc := make([]float64, D)
	for b := range B {
		clear(acc)
		cnt := 0
		for t := range T {
			if mask != nil && !mask[b*T+t] {
				continue
			}
			cnt++
			for i, v := range xs[(b*T+t)*D : (b*T+t+1)*D] {
				acc[i] += float64(v)
			}
		}
		for i := range acc {
			if cnt > 0 {
				out.Data()[b*D+i] = float32(acc[i] / float64(cnt))
			}
		}
	}
	return out, nil
}
