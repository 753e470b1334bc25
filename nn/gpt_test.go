package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Same check and tolerance as TestTransformerGradientsFiniteDifferences,
// for the decoder-only model (with dropout on: the masks are regenerated
// from the seed, so the loss is a deterministic function of the weights).
func TestGPTGradientsFiniteDifferences(t *testing.T) {
	c := GPTConfig{Vocab: 11, Context: 8, Layers: 2, Heads: 2, DModel: 8, Dropout: 0.1, Eps: 1e-5}
	rng := rand.New(rand.NewPCG(3, 9))
	m, err := NewGPT(c, rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params() {
		for i := range p.W {
			p.W[i] += float32(rng.NormFloat64() * 0.3)
		}
	}
	b := &LMBatch{B: 2, T: 6, Ignore: -1}
	for range b.B * b.T {
		b.IDs = append(b.IDs, rng.IntN(c.Vocab))
		b.Labels = append(b.Labels, rng.IntN(c.Vocab))
	}
	b.Labels[3] = -1
	opt := TrainOptions{Dropout: true, Seed: 5, Smoothing: 0.05}
	bw := opt
	bw.Backward = true
	if _, err := m.Loss(b, bw); err != nil {
		t.Fatal(err)
	}
	loss := func() float64 {
		st, err := m.Loss(b, opt)
		if err != nil {
			t.Fatal(err)
		}
		return st.Sum / float64(st.Count)
	}
	for _, p := range m.Params() {
		for range 3 {
			i := rng.IntN(len(p.W))
			w := p.W[i]
			const h = 1e-2
			p.W[i] = w + h
			lp := loss()
			p.W[i] = w - h
			lm := loss()
			p.W[i] = w
			fd := (lp - lm) / (2 * h)
			if an := float64(p.G[i]); math.Abs(fd-an) > 2e-3+0.03*math.Abs(fd) {
				t.Errorf("d loss / d %s[%d]: analytic %.6g, finite difference %.6g", p.Name, i, an, fd)
			}
		}
	}
}

func TestGPTRejects(t *testing.T) {
	if _, err := NewGPT(GPTConfig{Vocab: 10, Context: 4, Layers: 1, Heads: 3, DModel: 8, Eps: 1e-5}, rand.New(rand.NewPCG(1, 1))); err == nil {
		t.Error("heads not dividing the width accepted")
	}
	m, _ := NewGPT(GPTConfig{Vocab: 10, Context: 4, Layers: 1, Heads: 2, DModel: 8, Eps: 1e-5}, rand.New(rand.NewPCG(1, 1)))
	for _, b := range []*LMBatch{
		{B: 1, T: 5, IDs: make([]int, 5), Labels: make([]int, 5)},        // longer than the context
		{B: 1, T: 2, IDs: []int{1, 10}, Labels: []int{1, 1}},             // id out of range
		{B: 1, T: 2, IDs: []int{1, 2}, Labels: []int{1, 12}, Ignore: -1}, // label out of range
		{B: 2, T: 2, IDs: []int{1, 2}, Labels: []int{1, 1}},              // short buffers
	} {
		if _, err := m.Loss(b, TrainOptions{}); err == nil {
			t.Errorf("batch %+v accepted", b)
		}
	}
}
