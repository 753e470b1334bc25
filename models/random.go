package models

import (
	"math/rand/v2"
	"slices"

	"github.com/attn-go/attn/attention"
	"github.com/attn-go/attn/nn"
	"github.com/attn-go/attn/tensor"
)

// GPT2Small is the shape of the 124M-parameter GPT-2 (random weights via
// NewRandomDecoder make a stand-in of the same cost for benchmarks).
func GPT2Small() DecoderConfig {
	return DecoderConfig{
		Arch: ArchGPT2, Vocab: 50257, DModel: 768, Layers: 12, Heads: 12, KVHeads: 12, HeadDim: 64, DFF: 3072,
		Context: 1024, Norm: LayerNormKind, Eps: 1e-5, MLP: MLPGELUTanh, Learned: true,
		QKVBias: true, OutBias: true, MLPBias: true, BOS: 50256, EOS: 50256,
	}
}

// SmolLM135M is the shape of Hugging Face's SmolLM-135M, a Llama-architecture
// model (RMSNorm, rotary positions in the rotate-half layout, SwiGLU, no
// biases) with grouped-query attention: 9 query heads share 3 key/value
// heads of dimension 64; the head is tied to the embedding. With
// NewRandomDecoder it is a stand-in of the real checkpoint's cost.
func SmolLM135M() DecoderConfig {
	return DecoderConfig{
		Arch: ArchLlama, Vocab: 49152, DModel: 576, Layers: 30, Heads: 9, KVHeads: 3, HeadDim: 64, DFF: 1536,
		Context: 2048, Norm: RMSNormKind, Eps: 1e-5, MLP: MLPSwiGLU,
		RoPE: attention.RoPE{Dim: 64, Theta: 10000, Layout: attention.RoPEHalf},
		BOS:  0, EOS: 0, BOSRule: BOSFirst,
	}
}

// NewRandomDecoder returns a model of the given configuration with weights
// drawn from N(0, 0.02²) (GPT-2's initialisation), norms at 1 and biases at
// 0, from a seeded generator. It is for benchmarks and tests: same shapes,
// same cost as a real checkpoint.
func NewRandomDecoder(c DecoderConfig, seed uint64) (*Decoder, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	m0 := &Decoder{Config: c}
	if err := tensor.CheckBudget("models: random decoder weights", int(m0.WeightBytes()/4)); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	fill := func(v []float32) []float32 {
		for i := range v {
			v[i] = float32(rng.NormFloat64() * 0.02)
		}
		return v
	}
	normal := func(n int) []float32 { return fill(make([]float32, n)) }
	// A layer's matrices are drawn into one arena, reused by the next layer
	// once pack has copied them: the stored forms never pile up as garbage.
	var arena []float32
	matrix := func(n int) []float32 {
		arena = arena[:len(arena)+n] // within the capacity grown per layer
		return fill(arena[len(arena)-n:])
	}
	ones := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = 1
		}
		return v
	}
	bias := func(on bool, n int) []float32 {
		if on {
			return make([]float32, n)
		}
		return nil
	}
	D, F, qw, kw := c.DModel, c.DFF, c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	lin := func(in, out int, b bool) linear {
		return linear{w: matrix(in * out), b: bias(b, out), in: in, out: out}
	}
	nrm := func() norm {
		n := norm{w: ones(D)}
		if c.Norm == LayerNormKind {
			n.b = make([]float32, D)
		}
		return n
	}
	m := &Decoder{Config: c, embed: normal(c.Vocab * D), final: nrm()}
	if c.Learned {
		m.pos = normal(c.Context * D)
	}
	// GPT-2 checkpoints hold Conv1D weights [in, out], with q, k and v side
	// by side in one c_attn (models/hf.go): lay them out the same way, so
	// that the products take the same paths as with the real checkpoint.
	conv := func(in, out int) linear {
		return convLinear(matrix(in*out), make([]float32, out), 0, in, out, out)
	}
	perLayer := D*(qw+2*kw) + qw*D + 3*D*F // with a gate
	for range c.Layers {
		arena = slices.Grow(arena[:0], perLayer)
		var ly decoderLayer
		if c.Arch == ArchGPT2 && qw == D && kw == D && c.QKVBias && c.OutBias && c.MLPBias {
			ly = decoderLayer{qkv: conv(D, 3*D), o: conv(D, D), up: conv(D, F), down: conv(F, D)}
		} else {
			ly = decoderLayer{
				q: lin(D, qw, c.QKVBias), k: lin(D, kw, c.QKVBias), v: lin(D, kw, c.QKVBias), o: lin(qw, D, c.OutBias),
				up: lin(D, F, c.MLPBias), down: lin(F, D, c.MLPBias),
			}
		}
		ly.norm1, ly.norm2 = nrm(), nrm()
		if c.MLP == MLPSwiGLU {
			ly.gate = lin(D, F, c.MLPBias)
		}
		ly.pack(keep)
		m.layers = append(m.layers, ly)
	}
	m.head = m.embed
	if c.UntiedHead {
		m.head = normal(c.Vocab * D)
	}
	return m, nil
}

// BertBase is the shape of bert-base-uncased: D 768, 12 layers, 12 heads,
// feed-forward 3072, vocabulary 30522, 512 positions, 2 token types, erf
// GELU, LayerNorm eps 1e-12 (random weights via NewRandomBert make a
// stand-in of the same cost for benchmarks).
func BertBase() BertConfig {
	return BertConfig{Vocab: 30522, DModel: 768, Layers: 12, Heads: 12, DFF: 3072, Context: 512, TypeVocab: 2,
		Eps: 1e-12, Act: nn.GELUErf}
}

// NewRandomBert returns a BERT encoder (with its pooler) of the given
// configuration, weights drawn from N(0, 0.02²) (BERT's initialisation),
// LayerNorms at 1 and biases at 0, from a seeded generator; its
// projections are stored as nn.Linear stores them, then packed as a
// checkpoint's are. For benchmarks and tests.
func NewRandomBert(c BertConfig, seed uint64) (*Bert, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	D, F := c.DModel, c.DFF
	params := (c.Vocab+c.Context+c.TypeVocab+D)*D + c.Layers*(4*D*D+2*D*F)
	if err := tensor.CheckBudget("models: random bert weights", params); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 2))
	normal := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * 0.02)
		}
		return v
	}
	ln := func() norm {
		n := norm{w: make([]float32, c.DModel), b: make([]float32, c.DModel)}
		for i := range n.w {
			n.w[i] = 1
		}
		return n
	}
	lin := func(in, out int) linear {
		return linear{w: normal(in * out), b: make([]float32, out), in: in, out: out}
	}
	m := &Bert{Config: c, word: normal(c.Vocab * D), pos: normal(c.Context * D), typ: normal(c.TypeVocab * D), embLN: ln()}
	for range c.Layers {
		m.layers = append(m.layers, bertLayer{
			q: lin(D, D), k: lin(D, D), v: lin(D, D), o: lin(D, D), ln1: ln(),
			up: lin(D, F), down: lin(F, D), ln2: ln(),
		})
	}
	m.poolW, m.poolB = normal(D*D), make([]float32, D)
	m.pack(keep)
	return m, nil
}

// WeightBytes is the number of bytes of parameters one decoding step reads:
// every matrix, bias and norm vector once (the embedding row and position
// row read are negligible, but a tied head reads the whole embedding).
func (m *Decoder) WeightBytes() int64 {
	c := m.Config
	D, F, qw, kw := int64(c.DModel), int64(c.DFF), int64(c.Heads*c.HeadDim), int64(c.KVHeads*c.HeadDim)
	mlp := int64(2)
	if c.MLP == MLPSwiGLU {
		mlp = 3
	}
	normVec := D // a norm's weight, and its bias for LayerNorm
	if c.Norm == LayerNormKind {
		normVec = 2 * D
	}
	per := D*qw + 2*D*kw + qw*D + mlp*D*F + 2*normVec
	if c.QKVBias {
		per += qw + 2*kw
	}
	if c.OutBias {
		per += D
	}
	if c.MLPBias {
		per += (mlp-1)*F + D
	}
	total := int64(c.Layers)*per + int64(c.Vocab)*D + normVec
	if c.UntiedHead {
		total += int64(c.Vocab) * D
	}
	return 4 * total
}
