package nn

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// Same check and tolerance as TestTransformerGradientsFiniteDifferences,
// for the decoder-only model (with dropout on: the masks are regenerated
// from the seed, so the loss is a deterministic function of the weights).
func TestGPTGradientsFiniteDifferences(t *testing.T) {
	for _, untied := range []bool{false, true} {
		testGPTGradients(t, GPTConfig{Vocab: 11, Context: 8, Layers: 2, Heads: 2, DModel: 8, Dropout: 0.1, Eps: 1e-5, UntiedHead: untied})
	}
}

func testGPTGradients(t *testing.T, c GPTConfig) {
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
	checkModelGradients(t, fmt.Sprintf("gpt untied %v", c.UntiedHead), m.Params(), rng, loss)
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

// The encoder-only model: its backward against central differences (the
// same check and bound as the other models), and no decoder parameters.
func TestEncoderGradientsFiniteDifferences(t *testing.T) {
	for _, pre := range []bool{false, true} {
		c := EncoderConfig{Vocab: 9, DModel: 8, Heads: 2, DFF: 12, Layers: 2, Dropout: 0.1, Context: 16, NormFirst: pre, Eps: 1e-5, UntiedHead: pre}
		rng := rand.New(rand.NewPCG(4, 4))
		m, err := NewEncoder(c, rng)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m.Params() {
			if strings.HasPrefix(p.Name, "decoder.") {
				t.Fatalf("encoder-only model has %s", p.Name)
			}
			for i := range p.W {
				p.W[i] += float32(rng.NormFloat64() * 0.3)
			}
		}
		b := &TaggingBatch{B: 2, S: 5, Lens: []int{5, 3}, Ignore: -1}
		for i := range b.B * b.S {
			b.IDs = append(b.IDs, 3+rng.IntN(6))
			if i%b.S < b.Lens[i/b.S] {
				b.Labels = append(b.Labels, rng.IntN(9))
			} else {
				b.Labels = append(b.Labels, -1)
			}
		}
		opt := TrainOptions{Dropout: true, Seed: 3, Smoothing: 0.1}
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
		checkModelGradients(t, fmt.Sprintf("encoder pre-LN %v", pre), m.Params(), rng, loss)
		if _, err := m.Predict([][]int{{3, 4, 5}, {6}}); err != nil {
			t.Fatal(err)
		}
	}
}
