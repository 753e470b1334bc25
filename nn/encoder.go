package nn

import (
	"fmt"
	"math/rand/v2"
)

// Shape legend: B sequences of S tokens, D width, V vocabulary.

// EncoderConfig describes an encoder-only Transformer: the paper's encoder
// stack with a per-position output tied to the token embedding (a
// sequence-labelling model: one output token per input token).
type EncoderConfig struct {
	Vocab     int     `json:"vocab"`
	DModel    int     `json:"d_model"`
	Heads     int     `json:"nhead"`
	DFF       int     `json:"dim_feedforward"`
	Layers    int     `json:"num_encoder_layers"`
	Dropout   float32 `json:"dropout"`
	Context   int     `json:"max_len"`
	NormFirst bool    `json:"norm_first"`
	Eps       float32 `json:"layer_norm_eps"`
	// UntiedHead unties the output projection from the embedding.
	UntiedHead bool `json:"separate_output,omitempty"`
}

func (c EncoderConfig) transformer() TransformerConfig {
	return TransformerConfig{Vocab: c.Vocab, DModel: c.DModel, Heads: c.Heads, DFF: c.DFF, EncLayers: c.Layers,
		DecLayers: 1, Dropout: c.Dropout, Context: c.Context, NormFirst: c.NormFirst, Eps: c.Eps, UntiedHead: c.UntiedHead}
}

// Validate checks the configuration.
func (c EncoderConfig) Validate() error { return c.transformer().Validate() }

// Encoder is a trainable encoder-only model. Parameter names are those of
// the encoder half of Transformer ("embedding.weight",
// "encoder.layers.0.self_attn.in_proj_weight", …, "encoder.norm.*" when
// pre-LN).
type Encoder struct {
	Config EncoderConfig
	t      *Transformer
}

// NewEncoder builds an encoder-only model initialised as NewTransformer
// initialises its encoder.
func NewEncoder(c EncoderConfig, rng *rand.Rand) (*Encoder, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	tc := c.transformer()
	tc.DecLayers = 0
	t, err := newTransformer(tc, rng)
	if err != nil {
		return nil, err
	}
	return &Encoder{Config: c, t: t}, nil
}

// Params returns the learnable tensors in a fixed order.
func (e *Encoder) Params() []*Param { return e.t.params }

// TaggingBatch is B padded sequences with one label per position
// (Ignore where a position does not count, padding included).
type TaggingBatch struct {
	B, S   int
	IDs    []int // [B·S]
	Lens   []int // [B], real tokens per sequence
	Labels []int // [B·S]
	Ignore int
}

// Loss runs the encoder (padding excluded from attention by the lengths)
// and returns the per-position cross-entropy with label smoothing; with
// Backward it adds the gradients of the mean loss.
func (e *Encoder) Loss(bt *TaggingBatch, opt TrainOptions) (st LossStats, err error) {
	defer catchNumeric(&err)
	m := e.t
	c := m.Config
	if bt.Labels == nil || len(bt.Labels) != bt.B*bt.S {
		return st, fmt.Errorf("nn: tagging batch needs B·S = %d labels, has %d", bt.B*bt.S, len(bt.Labels))
	}
	sb := &Seq2SeqBatch{B: bt.B, S: bt.S, T: 1, Src: bt.IDs, SrcLen: bt.Lens, TgtIn: make([]int, bt.B), Ignore: bt.Ignore}
	if err := sb.check(c); err != nil {
		return st, err
	}
	for i, l := range bt.Labels {
		if l != bt.Ignore && (l < 0 || l >= c.Vocab) {
			return st, fmt.Errorf("nn: label %d at index %d is outside the vocabulary [0, %d)", l, i, c.Vocab)
		}
	}
	sc := m.scratch.get()
	defer m.scratch.put(sc)
	p := &pass{rn: run{train: opt.Dropout, p: c.Dropout, seed: opt.Seed, sc: sc}}
	m.encode(p, sb)
	st, dmem, err := outputLoss(sc, m.out, p.memory, bt.Labels, bt.Ignore, c.DModel, c.Vocab, opt)
	if err != nil || dmem == nil {
		return st, err
	}
	m.encodeBackward(p, dmem)
	return st, nil
}

// Predict returns the argmax token at every real position of each sequence.
func (e *Encoder) Predict(seqs [][]int) (_ [][]int, err error) {
	defer catchNumeric(&err)
	m := e.t
	c := m.Config
	B, S := len(seqs), 0
	for _, s := range seqs {
		S = max(S, len(s))
	}
	if B == 0 {
		return nil, nil
	}
	sb := &Seq2SeqBatch{B: B, S: S, T: 1, Src: make([]int, B*S), TgtIn: make([]int, B), Ignore: -1}
	for i, s := range seqs {
		copy(sb.Src[i*S:], s)
		sb.SrcLen = append(sb.SrcLen, len(s))
	}
	if err := sb.check(c); err != nil {
		return nil, err
	}
	p := &pass{}
	m.encode(p, sb)
	D, V := c.DModel, c.Vocab
	out := make([][]int, B)
	row := make([]float32, V)
	for i, s := range seqs {
		for j := range s {
			LinearForward(row, p.memory[(i*S+j)*D:(i*S+j+1)*D], m.out.W, nil, 1, D, V)
			out[i] = append(out[i], argmax(row))
		}
	}
	return out, nil
}
