package nn

import (
	"math/rand/v2"
	"testing"
)

// The decoder-only model against PyTorch autograd on a nanoGPT
// transcription (scripts/golden/gen_gpt.py), with the bound of
// goldenModelCase.compare. Gradients, not only the loss, are compared: the
// erf and tanh forms of GELU move the loss by as little as 5e-7 but the
// gradients by far more.
func TestGPTMatchesPyTorch(t *testing.T) {
	var c GPTConfig
	forEachGoldenModel(t, "gpt", 3, &c, func(t *testing.T, g *goldenModelCase) {
		m, err := NewGPT(c, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatal(err)
		}
		g.load(m.Params())
		ids, shape := g.ints("ids")
		labels, _ := g.ints("labels")
		st, err := m.Loss(&LMBatch{B: shape[0], T: shape[1], IDs: ids, Labels: labels, Ignore: -1}, TrainOptions{Backward: true, Smoothing: g.smoothing})
		if err != nil {
			t.Fatal(err)
		}
		g.compare(st, m.Params())
	})
}
