package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func tinyBatch(rng *rand.Rand, V int) *Seq2SeqBatch {
	b := &Seq2SeqBatch{B: 3, S: 5, T: 4, Ignore: -1}
	b.SrcLen = []int{5, 3, 1}
	for i := range b.B * b.S {
		if i%b.S < b.SrcLen[i/b.S] {
			b.Src = append(b.Src, 3+rng.IntN(V-3))
		} else {
			b.Src = append(b.Src, 0)
		}
	}
	for range b.B * b.T {
		b.TgtIn = append(b.TgtIn, 1+rng.IntN(V-1))
		b.TgtOut = append(b.TgtOut, rng.IntN(V))
	}
	b.TgtOut[len(b.TgtOut)-1] = -1
	return b
}

// The Transformer's backward is checked end to end against central
// differences of its float32 loss (see checkModelGradients for the bound).
func TestTransformerGradientsFiniteDifferences(t *testing.T) {
	for _, pre := range []bool{false, true} {
		c := TransformerConfig{Vocab: 9, DModel: 8, Heads: 2, DFF: 12, EncLayers: 2, DecLayers: 1, Context: 16, Eps: 1e-5, NormFirst: pre, UntiedHead: pre}
		rng := rand.New(rand.NewPCG(7, 8))
		m, err := NewTransformer(c, rng)
		if err != nil {
			t.Fatal(err)
		}
		// Random gains and biases, so no gradient vanishes by symmetry.
		for _, p := range m.Params() {
			for i := range p.W {
				p.W[i] += float32(rng.NormFloat64() * 0.3)
			}
		}
		b := tinyBatch(rng, c.Vocab)
		opt := TrainOptions{Backward: true, Smoothing: 0.1}
		if _, err := m.Loss(b, opt); err != nil {
			t.Fatal(err)
		}
		loss := func() float64 {
			st, err := m.Loss(b, TrainOptions{Smoothing: 0.1})
			if err != nil {
				t.Fatal(err)
			}
			return st.Sum / float64(st.Count)
		}
		checkModelGradients(t, fmt.Sprintf("transformer pre-LN %v", pre), m.Params(), rng, loss)
	}
}
