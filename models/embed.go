package models

import (
	"fmt"
	"math"

	"github.com/attn-go/attn/tensor"
	"github.com/attn-go/attn/tokenizer"
)

// Pooling turns an encoder's last hidden states into one vector per text.
type Pooling int

const (
	// PoolMean averages the last hidden states over the real tokens
	// (sentence-transformers' mean pooling).
	PoolMean Pooling = iota
	// PoolCLS is the pooler output: tanh(W·h[CLS] + b).
	PoolCLS
)

// ParsePooling reads "mean" or "cls".
func ParsePooling(s string) (Pooling, error) {
	switch s {
	case "mean":
		return PoolMean, nil
	case "cls":
		return PoolCLS, nil
	}
	return 0, fmt.Errorf("models: pooling %q: want mean or cls", s)
}

// EmbedOptions configure Embed.
type EmbedOptions struct {
	Pooling Pooling
	// Normalize scales each vector to unit L2 norm (a zero vector stays
	// zero).
	Normalize bool
}

// Embed encodes each text as "[CLS] text [SEP]" with tok, runs the batch
// through the encoder with the padding masked out, and returns the
// sentence embeddings [len(texts), D].
func (m *Bert) Embed(tok tokenizer.Tokenizer, texts []string, opt EmbedOptions) (*tensor.Tensor, error) {
	if len(texts) == 0 {
		return nil, fmt.Errorf("models: no texts to embed")
	}
	be, ok := tok.(tokenizer.SpecialEncoder)
	if !ok {
		return nil, fmt.Errorf("models: the tokenizer cannot add [CLS]/[SEP]")
	}
	seqs := make([][]int, len(texts))
	T := 0
	for i, text := range texts {
		ids, err := be.EncodeWith(text, tokenizer.EncodeOptions{AddBOS: true, AddEOS: true})
		if err != nil {
			return nil, err
		}
		if len(ids) > m.Config.Context {
			return nil, fmt.Errorf("models: text %d is %d tokens, longer than the model's %d positions", i+1, len(ids), m.Config.Context)
		}
		seqs[i] = ids
		T = max(T, len(ids))
	}
	B := len(seqs)
	in := BertInput{B: B, T: T, IDs: make([]int, B*T), Mask: make([]bool, B*T)}
	for b, ids := range seqs {
		for i := range T {
			in.IDs[b*T+i] = m.Config.PadID
			if i < len(ids) {
				in.IDs[b*T+i], in.Mask[b*T+i] = ids[i], true
			}
		}
	}
	out, err := m.Forward(in, false)
	if err != nil {
		return nil, err
	}
	emb := out.Pooled
	switch opt.Pooling {
	case PoolMean:
		if emb, err = MeanPool(out.Last, in.Mask); err != nil {
			return nil, err
		}
	case PoolCLS:
		if emb == nil {
			return nil, fmt.Errorf("models: the checkpoint has no pooler; use mean pooling")
		}
	default:
		return nil, fmt.Errorf("models: unknown pooling %d", opt.Pooling)
	}
	if opt.Normalize {
		D := emb.Dim(1)
		for b := range B {
			normalize(emb.Data()[b*D : (b+1)*D])
		}
	}
	return emb, nil
}

// normalize scales v to unit L2 norm, summing in float64.
func normalize(v []float32) {
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	if ss > 0 {
		inv := 1 / math.Sqrt(ss)
		for i := range v {
			v[i] = float32(float64(v[i]) * inv)
		}
	}
}
