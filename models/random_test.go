package models

import (
	"math"
	"strings"
	"testing"

	"github.com/attn-go/attn/internal/numcheck"

	"github.com/attn-go/attn/tensor"
)

// NewRandomBert builds an encoder that runs, is seeded, and refuses what
// Validate refuses.
func TestNewRandomBert(t *testing.T) {
	c := BertConfig{Vocab: 50, DModel: 16, Layers: 2, Heads: 4, DFF: 32, Context: 10, TypeVocab: 2, Eps: 1e-12}
	run := func() []float32 {
		m, err := NewRandomBert(c, 7)
		if err != nil {
			t.Fatal(err)
		}
		out, err := m.Forward(BertInput{B: 2, T: 6, IDs: []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}}, false)
		if err != nil {
			t.Fatal(err)
		}
		if out.Pooled == nil || out.Pooled.Dim(1) != 16 {
			t.Fatalf("pooled output %v, want [2, 16]", out.Pooled)
		}
		return out.Last.Data()
	}
	a, b := run(), run()
	for i, v := range a {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || v != b[i] {
			t.Fatalf("output %d: %v then %v, want the same finite value", i, v, b[i])
		}
	}
	// Each row is LayerNorm'd with weight 1 and bias 0: mean 0, variance 1.
	var mean, sq float64
	for _, v := range a[:16] {
		mean += float64(v) / 16
		sq += float64(v) * float64(v) / 16
	}
	if numcheck.Exceeds(math.Abs(mean), 1e-5) || numcheck.Exceeds(math.Abs(sq-1), 1e-3) {
		t.Errorf("first row mean %g, mean square %g, want 0 and 1", mean, sq)
	}
	for _, bad := range []struct {
		mod  func(*BertConfig)
		want string
	}{
		{func(c *BertConfig) { c.Heads = 3 }, "do not divide"},
		{func(c *BertConfig) { c.Layers = 0 }, "want all >= 1"},
		{func(c *BertConfig) { c.Eps = float32(math.NaN()) }, "eps"},
		{func(c *BertConfig) { c.Vocab, c.DModel, c.Heads, c.DFF = 1<<24, 1<<24, 1, 1 }, "word embedding"},
	} {
		cc := c
		bad.mod(&cc)
		if _, err := NewRandomBert(cc, 1); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("err = %v, want one containing %q", err, bad.want)
		}
	}
}

// With a memory budget set, the random constructors refuse weights over it
// before drawing them.
func TestRandomModelsRespectBudget(t *testing.T) {
	prev := tensor.SetMemoryBudget(64 << 20)
	defer tensor.SetMemoryBudget(prev)
	if _, err := NewRandomBert(BertBase(), 1); err == nil || !strings.Contains(err.Error(), "budget") {
		t.Errorf("bert-base under a 64 MiB budget: err = %v, want a budget error", err)
	}
	if _, err := NewRandomDecoder(GPT2Small(), 1); err == nil || !strings.Contains(err.Error(), "budget") {
		t.Errorf("gpt2-small under a 64 MiB budget: err = %v, want a budget error", err)
	}
}
