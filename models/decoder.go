package models

import (
	"fmt"
	"math"

	"github.com/attn-go/attn/attention"
	"github.com/attn-go/attn/kernel"
	"github.com/attn-go/attn/nn"
	"github.com/attn-go/attn/tensor"
)

// Shape legend for this file:
//
//	T   tokens in one forward call      S   positions in the KV cache after it
//	D   model width (hidden size)       V   vocabulary size
//	H   query heads                     Hkv key/value heads (H % Hkv == 0)
//	Dh  head dimension                  F   feed-forward width
//	L   layers

// NormKind is the normalisation a decoder uses.
type NormKind int

const (
	// LayerNormKind is LayerNorm with weight and bias (GPT-2).
	LayerNormKind NormKind = iota
	// RMSNormKind is RMSNorm with a weight (Llama).
	RMSNormKind
)

// MLPKind is the feed-forward block of a decoder layer.
type MLPKind int

const (
	// MLPGELUTanh is down(gelu_tanh(up(x))) (GPT-2's c_fc, c_proj).
	MLPGELUTanh MLPKind = iota
	// MLPGELUErf is down(gelu(up(x))).
	MLPGELUErf
	// MLPReLU is down(relu(up(x))).
	MLPReLU
	// MLPSwiGLU is down(silu(gate(x)) ⊙ up(x)) (Llama).
	MLPSwiGLU
)

// DecoderConfig describes a decoder-only transformer. It covers GPT-2,
// Llama, Qwen2, Mistral and llama2.c checkpoints, which differ only in the
// fields below.
type DecoderConfig struct {
	Arch       Arch
	Vocab      int // V
	DModel     int // D
	Layers     int // L
	Heads      int // H
	KVHeads    int // Hkv
	HeadDim    int // Dh
	DFF        int // F
	Context    int // context length
	Norm       NormKind
	Eps        float32
	MLP        MLPKind
	Learned    bool           // learned absolute positions (GPT-2); otherwise RoPE
	RoPE       attention.RoPE // when !Learned
	QKVBias    bool
	OutBias    bool // attention output projection bias
	MLPBias    bool
	Window     int     // sliding-window attention size, 0 for none
	UntiedHead bool    // the classifier has its own weight, not the token embedding
	BOS, EOS   int     // -1 when unknown
	BOSRule    BOSRule // where a prompt's BOS goes (EncodePrompt)
	ExtraStops []int   // tokens besides EOS that end generation
}

// Validate checks that the sizes are consistent and not absurd.
func (c *DecoderConfig) Validate() error {
	switch {
	case c.Vocab < 1, c.DModel < 1, c.Layers < 1, c.Heads < 1, c.KVHeads < 1, c.HeadDim < 1, c.DFF < 1, c.Context < 1:
		return fmt.Errorf("models: config sizes vocab=%d d_model=%d layers=%d heads=%d kv_heads=%d head_dim=%d d_ff=%d context=%d, want all >= 1",
			c.Vocab, c.DModel, c.Layers, c.Heads, c.KVHeads, c.HeadDim, c.DFF, c.Context)
	case c.Heads%c.KVHeads != 0:
		return fmt.Errorf("models: config has %d key/value heads, which does not divide %d heads", c.KVHeads, c.Heads)
	case c.Window < 0:
		return fmt.Errorf("models: sliding window %d, want >= 0", c.Window)
	case !(c.Eps >= 0) || math.IsInf(float64(c.Eps), 0):
		return fmt.Errorf("models: norm eps %v, want a finite number >= 0", c.Eps)
	}
	for _, n := range []int{c.Vocab, c.DModel, c.Layers, c.Heads * c.HeadDim, c.DFF, c.Context} {
		if n > 1<<24 {
			return fmt.Errorf("models: config size %d is beyond any real model (limit 2^24)", n)
		}
	}
	if _, err := tensor.NumElements(c.Vocab, c.DModel); err != nil {
		return fmt.Errorf("models: embedding: %w", err)
	}
	if !c.Learned {
		if err := c.RoPE.Check(c.HeadDim); err != nil {
			return err
		}
	}
	return nil
}

// linear is one projection y = x·Wᵀ + b. Loaders set W as stored, either
// as PyTorch's nn.Linear [out, in] or, for GPT-2's Conv1D, as [in, out]
// columns of a wider matrix (inOut, leading dimension ldw, first column
// col); the model's pack then replaces it by p, the same matrix packed for
// the GEMM (models/packed.go).
type linear struct {
	w       []float32
	p       *kernel.PackedB
	b       []float32
	in, out int
	inOut   bool
	ldw     int
}

// convLinear is columns [col, col+out) of a GPT-2 Conv1D weight w [in, ldw]
// and its bias b [ldw] (c_attn holds q, k and v side by side), or the zero
// linear when w is nil.
func convLinear(w, b []float32, col, in, out, ldw int) linear {
	if w == nil {
		return linear{}
	}
	return linear{w: w[col:], b: b[col : col+out], in: in, out: out, inOut: true, ldw: ldw}
}

// apply computes y [m, out] (leading dimension ldy) from x [m, in] (ldx)
// with the packed weight (every loader packs its model; models/packed.go).
func (l *linear) apply(y []float32, ldy int, x []float32, ldx, m int) {
	kernel.LinearPacked(y, ldy, x, ldx, l.p, l.b, m)
}

type norm struct {
	w, b []float32
}

type decoderLayer struct {
	norm1, norm2   norm
	q, k, v, o     linear
	up, gate, down linear
	// qkv is q, k and v as one product whose output columns are theirs side
	// by side: GPT-2's c_attn [D, 3D] as loaded, or q, k and v fused by
	// pack. One product reads the input once, where three would read it
	// three times.
	qkv linear
}

// Decoder is a loaded decoder-only model. Its weights are read-only after
// loading: any number of goroutines may run it at once, each with its own
// State.
type Decoder struct {
	Config DecoderConfig
	embed  []float32 // [V, D]
	pos    []float32 // [Context, D] when Learned
	layers []decoderLayer
	final  norm
	head   []float32 // [V, D]
	src    source
}

// Close releases the checkpoint's file mappings. The model must not be used
// afterwards.
func (m *Decoder) Close() error {
	if m.src == nil {
		return nil
	}
	err := m.src.close()
	m.src = nil
	return err
}

// State is one sequence's decoding state: its KV caches and position.
type State struct {
	caches []*attention.KVCache
	maxLen int
}

// NewState returns an empty state for up to maxLen positions (0 means the
// model's context length).
func (m *Decoder) NewState(maxLen int) (*State, error) {
	c := m.Config
	if maxLen == 0 {
		maxLen = c.Context
	}
	if maxLen < 1 || maxLen > c.Context {
		return nil, fmt.Errorf("models: state length %d, want 1..%d (the model's context)", maxLen, c.Context)
	}
	s := &State{maxLen: maxLen}
	for range c.Layers {
		kv, err := attention.NewKVCache(maxLen, c.KVHeads, c.HeadDim, c.HeadDim)
		if err != nil {
			return nil, err
		}
		s.caches = append(s.caches, kv)
	}
	return s, nil
}

// KVBytes is the size of the keys and values n cached positions hold, the
// bytes a decode step at context n reads besides the weights: K and V,
// float32, for every layer and key/value head.
func (c DecoderConfig) KVBytes(n int) int64 {
	return int64(2*4*c.Layers*c.KVHeads*c.HeadDim) * int64(n)
}

// Len returns the number of positions the state holds.
func (s *State) Len() int { return s.caches[0].Len() }

// Reset empties the state for a new sequence.
func (s *State) Reset() {
	for _, c := range s.caches {
		c.Reset()
	}
}

// ForwardOptions select what Forward returns besides the last logits.
type ForwardOptions struct {
	// AllLogits returns logits for every new position, not only the last.
	AllLogits bool
	// HiddenStates returns the hidden states [L+1, T, D]: the embeddings, then each
	// layer's output, the last one after the final norm (Hugging Face's
	// output_hidden_states convention).
	HiddenStates bool
	// OnAttention, if set, receives each layer's and head's attention
	// weights w [T, S] (row i: how query position pos0+i weighs the S cached
	// positions), one head at a time in a reused buffer, so a long input
	// never holds more than one head's matrix. The weights are recomputed by
	// the same kernel from the same inputs; the model's outputs are the same
	// numbers whether or not they are asked for. An error stops Forward.
	OnAttention func(layer, head int, w *tensor.Tensor) error
}

// Output is what Forward returns.
type Output struct {
	Logits       *tensor.Tensor // [T, V] with AllLogits, else [1, V]
	HiddenStates *tensor.Tensor // [L+1, T, D] with Hidden, else nil
}

// Forward runs the model on ids, appended at the state's position, and
// updates the state. The ids are checked against the vocabulary and the
// context length before any work.
func (m *Decoder) Forward(s *State, ids []int, opt ForwardOptions) (*Output, error) {
	c := m.Config
	T := len(ids)
	if T == 0 {
		return nil, fmt.Errorf("models: no tokens to run")
	}
	if s == nil || len(s.caches) != c.Layers {
		return nil, fmt.Errorf("models: state is not one of this model's (use NewState)")
	}
	pos0 := s.Len()
	if T > s.maxLen-pos0 {
		return nil, fmt.Errorf("models: %d tokens after %d cached exceed the context of %d positions", T, pos0, s.maxLen)
	}
	for i, id := range ids {
		if id < 0 || id >= c.Vocab {
			return nil, fmt.Errorf("models: token %d at index %d is outside the vocabulary [0, %d)", id, i, c.Vocab)
		}
	}
	D, H, Hkv, Dh, F := c.DModel, c.Heads, c.KVHeads, c.HeadDim, c.DFF
	qw, kw := H*Dh, Hkv*Dh
	S := pos0 + T
	if err := tensor.CheckBudget(fmt.Sprintf("models: activations of %d tokens", T), T*max(F, qw, D)); err != nil {
		return nil, err
	}

	x := make([]float32, T*D)
	for t, id := range ids {
		copy(x[t*D:(t+1)*D], m.embed[id*D:(id+1)*D])
		if c.Learned {
			kernel.Axpy(1, m.pos[(pos0+t)*D:(pos0+t+1)*D], x[t*D:(t+1)*D])
		}
	}
	var hidden *tensor.Tensor
	if opt.HiddenStates {
		var err error
		if hidden, err = tensor.New(c.Layers+1, T, D); err != nil {
			return nil, fmt.Errorf("models: hidden states: %w", err)
		}
		copy(hidden.Data(), x)
	}
	var rope *attention.RoPETable
	if !c.Learned {
		var err error
		if rope, err = c.RoPE.Table(pos0, T); err != nil {
			return nil, err
		}
	}
	var mask attention.Mask = attention.Causal{Align: attention.BottomRight}
	if c.Window > 0 {
		mask = attention.SlidingWindow{Size: c.Window, Align: attention.BottomRight}
	}
	h := make([]float32, T*D)
	q := make([]float32, T*qw)
	ctx := make([]float32, T*qw)
	ff := make([]float32, T*F)
	var gate []float32
	if c.MLP == MLPSwiGLU {
		gate = make([]float32, T*F)
	}
	qkvOut := make([]float32, T*(qw+2*kw)) // q, k and v side by side
	qView := tensor.Must(tensor.View(q, 0, []int{1, H, T, Dh}, []int{T * qw, Dh, qw, 1}))
	ctxView := tensor.Must(tensor.View(ctx, 0, []int{1, H, T, Dh}, []int{T * qw, Dh, qw, 1}))

	for l := range m.layers {
		ly := &m.layers[l]
		cache := s.caches[l]
		m.norm(h, x, T, ly.norm1)
		kSlot, vSlot, err := cache.Slots(T)
		if err != nil {
			return nil, err
		}
		w := qw + 2*kw
		ly.qkv.apply(qkvOut, w, h, D, T)
		for t := range T {
			row := qkvOut[t*w : (t+1)*w]
			copy(q[t*qw:(t+1)*qw], row[:qw])
			copy(kSlot[t*kw:(t+1)*kw], row[qw:qw+kw])
			copy(vSlot[t*kw:(t+1)*kw], row[qw+kw:])
		}
		if rope != nil {
			rope.ApplyRows(q, 0, qw, H, Dh)
			rope.ApplyRows(kSlot, 0, kw, Hkv, Dh)
		}
		kv, vv, err := cache.Views(S)
		if err != nil {
			return nil, err
		}
		if err := attention.ScaledDotProduct(ctxView, qView, kv, vv, attention.Options{Masks: []attention.Mask{mask}}); err != nil {
			return nil, fmt.Errorf("models: layer %d: %w", l, err)
		}
		if opt.OnAttention != nil {
			if err := m.headWeights(l, q, kv, vv, T, S, mask, opt.OnAttention); err != nil {
				return nil, err
			}
		}
		ly.o.apply(h, D, ctx, qw, T)
		kernel.Axpy(1, h, x)

		m.norm(h, x, T, ly.norm2)
		ly.up.apply(ff, F, h, D, T)
		switch c.MLP {
		case MLPSwiGLU:
			ly.gate.apply(gate, F, h, D, T)
			nn.SwiGLU(gate, ff)
			ff, gate = gate, ff
		case MLPGELUTanh:
			nn.GELU(ff, nn.GELUTanh)
		case MLPGELUErf:
			nn.GELU(ff, nn.GELUErf)
		case MLPReLU:
			nn.ReLU(ff)
		}
		ly.down.apply(h, D, ff, F, T)
		kernel.Axpy(1, h, x)
		if hidden != nil && l < c.Layers-1 {
			copy(hidden.Data()[(l+1)*T*D:], x)
		}
	}

	rows := x
	nOut := T
	if !opt.AllLogits && !opt.HiddenStates {
		rows, nOut = x[(T-1)*D:], 1
	}
	m.norm(rows, rows, nOut, m.final)
	if hidden != nil {
		copy(hidden.Data()[c.Layers*T*D:], x)
	}
	if !opt.AllLogits && nOut == T {
		rows, nOut = x[(T-1)*D:], 1
	}
	logits, err := tensor.New(nOut, c.Vocab)
	if err != nil {
		return nil, fmt.Errorf("models: logits: %w", err)
	}
	kernel.Linear(logits.Data(), c.Vocab, rows, D, m.head, D, nil, nOut, D, c.Vocab)
	if idx, bad := logits.FirstNonFinite(); bad {
		return nil, fmt.Errorf("models: logit %v at %v is not finite: the weights hold NaN/Inf or the activations overflowed float32", logits.At(idx...), idx)
	}
	for _, kv := range s.caches {
		kv.Commit(T)
	}
	return &Output{Logits: logits, HiddenStates: hidden}, nil
}

func (m *Decoder) norm(y, x []float32, rows int, n norm) {
	if m.Config.Norm == RMSNormKind {
		nn.RMSNormRows(y, x, rows, m.Config.DModel, n.w, m.Config.Eps)
		return
	}
	nn.LayerNormRows(y, x, rows, m.Config.DModel, n.w, n.b, m.Config.Eps)
}

func tanh32(v float32) float32 { return float32(math.Tanh(float64(v))) }

// Truncate forgets the positions from n on, so a sequence can be rewound
// (e.g. to retry a continuation) without recomputing its prefix.
func (s *State) Truncate(n int) error {
	if n < 0 || n > s.Len() {
		return fmt.Errorf("models: truncate state to %d positions, have %d", n, s.Len())
	}
	for _, c := range s.caches {
		if err := c.Truncate(n); err != nil {
			return err
		}
	}
	return nil
}

// headWeights recomputes layer l's attention weights head by head and
// hands each [T, S] matrix to f. q is the rotated [T, H·Dh] query buffer;
// k and v are the cache views [1, Hkv, S, Dh].
func (m *Decoder) headWeights(l int, q []float32, k, v *tensor.Tensor, T, S int, mask attention.Mask, f func(layer, head int, w *tensor.Tensor) error) error {
	c := m.Config
	H, Dh, qw := c.Heads, c.HeadDim, c.Heads*c.HeadDim
	w, err := tensor.New(1, 1, T, S)
	if err != nil {
		return fmt.Errorf("models: attention weights [T=%d S=%d]: %w", T, S, err)
	}
	out := tensor.Must(tensor.New(1, 1, T, Dh))
	w2 := tensor.Must(w.Reshape(T, S))
	group := H / c.KVHeads
	for h := range H {
		qh := tensor.Must(tensor.View(q, h*Dh, []int{1, 1, T, Dh}, []int{T * qw, Dh, qw, 1}))
		kh := tensor.Must(k.Narrow(1, h/group, 1))
		vh := tensor.Must(v.Narrow(1, h/group, 1))
		if err := attention.ScaledDotProduct(out, qh, kh, vh, attention.Options{Masks: []attention.Mask{mask}, Weights: w}); err != nil {
			return fmt.Errorf("models: layer %d head %d weights: %w", l, h, err)
		}
		if err := f(l, h, w2); err != nil {
			return err
		}
	}
	return nil
}
