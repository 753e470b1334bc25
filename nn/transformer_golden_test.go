package nn

import (
	"math/rand/v2"
	"testing"
)

// The PyTorch golden cases (scripts/golden/gen_transformer.py) hold
// torch.nn.TransformerEncoderLayer/DecoderLayer stacks with a tied,
// scaled embedding and sinusoidal positions, a batch with padding and
// ignored labels, and autograd's gradients of the label-smoothed loss in
// float32 and float64 (bound: goldenModelCase.compare).
func TestTransformerMatchesPyTorch(t *testing.T) {
	var c TransformerConfig
	forEachGoldenModel(t, "transformer", 3, &c, func(t *testing.T, g *goldenModelCase) {
		m, err := NewTransformer(c, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatal(err)
		}
		g.load(m.Params())
		src, ss := g.ints("src")
		srcLen, _ := g.ints("src_len")
		tgtIn, ts := g.ints("tgt_in")
		tgtOut, _ := g.ints("tgt_out")
		b := &Seq2SeqBatch{B: ss[0], S: ss[1], T: ts[1], Src: src, SrcLen: srcLen, TgtIn: tgtIn, TgtOut: tgtOut, Ignore: -1}
		st, err := m.Loss(b, TrainOptions{Backward: true, Smoothing: g.smoothing})
		if err != nil {
			t.Fatal(err)
		}
		g.compare(st, m.Params())
	})
}
