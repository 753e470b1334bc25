package nn

import (
	"math"
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
// differences of its float32 loss. Float32 forward noise (about 1e-7 of a
// loss near 2) over h = 1e-2 and the O(h²) truncation bound the difference
// quotient's error to about 1e-4, so the analytic gradient must agree
// within 2e-3 absolute plus 3% relative; a missing term, a wrong sign or a
// misplaced norm shows up as an error of order the gradient itself. The
// PyTorch autograd golden test pins the gradients to float32 rounding.
func TestTransformerGradientsFiniteDifferences(t *testing.T) {
	for _, pre := range []bool{false, true} {
		c := TransformerConfig{Vocab: 9, DModel: 8, Heads: 2, DFF: 12, EncLayers: 2, DecLayers: 1, MaxLen: 16, Eps: 1e-5, NormFirst: pre}
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
		checked := 0
		for _, p := range m.Params() {
			for k := 0; k < 3; k++ {
				i := rng.IntN(len(p.W))
				w := p.W[i]
				const h = 1e-2
				p.W[i] = w + h
				lp := loss()
				p.W[i] = w - h
				lm := loss()
				p.W[i] = w
				fd := (lp - lm) / (2 * h)
				an := float64(p.G[i])
				if math.Abs(fd-an) > 2e-3+0.03*math.Abs(fd) {
					t.Errorf("pre-LN %v: d loss / d %s[%d]: analytic %.6g, finite difference %.6g", pre, p.Name, i, an, fd)
				}
				checked++
			}
		}
		if checked < 3*len(m.Params()) {
			t.Fatalf("checked %d entries", checked)
		}
	}
}
