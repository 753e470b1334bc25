package models

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/attn-go/attn/nn"
	"github.com/attn-go/attn/tokenizer"
	"github.com/attn-go/attn/train"
)

// Trained is the layout of a folder written by attn train (train.CheckpointFile
// with the run's settings in its metadata).
const Trained Format = "attn-train"

// isTrained reports whether dir holds a training checkpoint.
func isTrained(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, train.CheckpointFile))
	return err == nil && st.Mode().IsRegular()
}

// loadTrained loads the decoder-only model of a training run. Runs of the
// encoder-decoder or the encoder-only model are refused with their name:
// they are not decoder-only text generators.
func loadTrained(dir string) (*Decoder, error) {
	m, _, _, err := train.LoadModel(dir)
	if err != nil {
		return nil, err
	}
	switch m := m.(type) {
	case train.DecoderOnly:
		return FromGPT(m.GPT)
	}
	kind := "encoder-only model"
	if _, ok := m.(train.Seq2Seq); ok {
		kind = "encoder-decoder Transformer"
	}
	return nil, fmt.Errorf("models: %s holds a trained %s, not a decoder-only model (train with --arch %s)", dir, kind, train.ArchGPT)
}

// FromGPT returns the inference decoder of a trainable nn.GPT: the same
// architecture (pre-LN blocks, learned positions, tanh GELU, final
// LayerNorm, tied or untied head) and the same weights, so it computes the
// same logits (to float32 rounding: its products run through packed
// weights), now with a KV cache, attention pictures and sampling. The
// weights are copied: g may go on training without changing the decoder.
func FromGPT(g *nn.GPT) (*Decoder, error) {
	gc := g.Config
	if err := gc.Validate(); err != nil {
		return nil, err
	}
	D, V := gc.DModel, gc.Vocab
	c := DecoderConfig{
		Arch: ArchGPT, Vocab: V, DModel: D, Layers: gc.Layers, Heads: gc.Heads, KVHeads: gc.Heads,
		HeadDim: D / gc.Heads, DFF: 4 * D, Context: gc.Context, Norm: LayerNormKind, Eps: gc.Eps,
		MLP: MLPGELUTanh, Learned: true, QKVBias: true, OutBias: true, MLPBias: true,
		UntiedHead: gc.UntiedHead, BOS: train.BOS, EOS: train.EOS, BOSRule: BOSAfter,
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	params := map[string]*nn.Param{}
	for _, p := range g.Params() {
		params[p.Name] = p
	}
	var missing error
	take := func(name string, n int) []float32 {
		p, ok := params[name]
		if !ok || len(p.W) != n {
			if missing == nil {
				missing = fmt.Errorf("models: GPT parameter %q is missing or not of %d values", name, n)
			}
			return make([]float32, n)
		}
		delete(params, name)
		return append([]float32(nil), p.W...)
	}
	// nn.Linear layout [out, in].
	lin := func(name string, in, out int) linear {
		return linear{w: take(name+".weight", out*in), b: take(name+".bias", out), in: in, out: out}
	}
	nrm := func(name string) norm { return norm{take(name+".weight", D), take(name+".bias", D)} }
	m := &Decoder{Config: c, embed: take("transformer.wte.weight", V*D), pos: take("transformer.wpe.weight", gc.Context*D)}
	for l := range gc.Layers {
		p := fmt.Sprintf("transformer.h.%d.", l)
		ly := decoderLayer{
			norm1: nrm(p + "ln_1"), norm2: nrm(p + "ln_2"),
			qkv:  lin(p+"attn.c_attn", D, 3*D),
			o:    lin(p+"attn.c_proj", D, D),
			up:   lin(p+"mlp.c_fc", D, 4*D),
			down: lin(p+"mlp.c_proj", 4*D, D),
		}
		ly.pack(keep)
		m.layers = append(m.layers, ly)
	}
	m.final = nrm("transformer.ln_f")
	m.head = m.embed
	if gc.UntiedHead {
		m.head = take("lm_head.weight", V*D)
	}
	if missing != nil {
		return nil, missing
	}
	for name := range params {
		return nil, fmt.Errorf("models: GPT parameter %q has no place in the decoder", name)
	}
	return m, nil
}

// LoadTokenizer returns the tokenizer that belongs to the model at path:
// for a folder written by attn train, its task's symbols (train.Tokenizer);
// otherwise the tokenizer file beside the checkpoint, as tokenizer.Load finds
// it. vocab is the model's vocabulary size, which a llama2.c tokenizer.bin
// needs (0 if unknown).
func LoadTokenizer(path string, vocab int) (tokenizer.Tokenizer, error) {
	if isTrained(path) {
		rc, _, err := train.ReadRunConfig(path)
		if err != nil {
			return nil, err
		}
		task, err := train.NewTask(rc.Task)
		if err != nil {
			return nil, err
		}
		return train.NewTokenizer(task), nil
	}
	return tokenizer.Load(path, tokenizer.LoadOptions{VocabSize: vocab})
}

// TokenizerFor returns the tokenizer for the model at modelPath with the
// given vocabulary size: the one at override when it is not empty, else
// LoadTokenizer's. A tokenizer with more tokens than the model is refused:
// the two do not belong together.
func TokenizerFor(modelPath, override string, vocab int) (tokenizer.Tokenizer, error) {
	var tok tokenizer.Tokenizer
	var err error
	if override != "" {
		tok, err = tokenizer.Load(override, tokenizer.LoadOptions{VocabSize: vocab})
		if err != nil {
			return nil, err
		}
	} else if tok, err = LoadTokenizer(modelPath, vocab); err != nil {
		return nil, fmt.Errorf("models: no tokenizer found for %s: %w", modelPath, err)
	}
	if tok.VocabSize() > vocab {
		return nil, fmt.Errorf("models: the tokenizer has %d tokens but the model only %d: they do not belong together", tok.VocabSize(), vocab)
	}
	return tok, nil
}
