package models

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attn-go/attn/internal/numcheck"
	"github.com/attn-go/attn/nn"
	"github.com/attn-go/attn/train"
)

// The decoder built from a trainable GPT computes the GPT's logits: same
// architecture, same weights, products through packed weights. Both run in
// float32 with different summation orders, so they agree to a few float32
// ulps per layer: 1e-5 relative (L2) is a bound with room, and 100× above
// a wrong weight or a missing bias, which show as errors of order 1.
func TestFromGPTLogits(t *testing.T) {
	for _, tc := range []struct {
		name   string
		untied bool
		B, T   int
	}{
		{"tied, one sequence", false, 1, 7},
		{"untied, batch", true, 3, 5},
		{"full context", false, 1, 24},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := nn.GPTConfig{Vocab: 17, Context: 24, Layers: 2, Heads: 2, DModel: 16, Eps: 1e-5, UntiedHead: tc.untied}
			g, err := nn.NewGPT(c, rand.New(rand.NewPCG(7, 1)))
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(3, 4))
			ids := make([]int, tc.B*tc.T)
			for i := range ids {
				ids[i] = rng.IntN(c.Vocab)
			}
			want, err := g.Logits(ids, tc.B, tc.T)
			if err != nil {
				t.Fatal(err)
			}
			dec, err := FromGPT(g)
			if err != nil {
				t.Fatal(err)
			}
			if dec.Config.UntiedHead != tc.untied {
				t.Errorf("decoder UntiedHead %v for the GPT's %v", dec.Config.UntiedHead, tc.untied)
			}
			var got []float32
			for b := range tc.B {
				s, err := dec.NewState(0)
				if err != nil {
					t.Fatal(err)
				}
				out, err := dec.Forward(s, ids[b*tc.T:(b+1)*tc.T], ForwardOptions{AllLogits: true})
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, out.Logits.Data()...)
			}
			numcheck.CheckRel(t, "decoder logits against the GPT's", got, want, 1e-5)
		})
	}
}

// Greedy decoding through the KV cache gives the tokens the GPT's own
// greedy search (which reruns the prefix each step) gives.
func TestFromGPTGreedy(t *testing.T) {
	c := nn.GPTConfig{Vocab: 13, Context: 32, Layers: 2, Heads: 4, DModel: 32, Eps: 1e-5}
	g, err := nn.NewGPT(c, rand.New(rand.NewPCG(11, 2)))
	if err != nil {
		t.Fatal(err)
	}
	dec, err := FromGPT(g)
	if err != nil {
		t.Fatal(err)
	}
	prefixes := [][]int{{3, 4, 5, 1}, {7, 1}, {9, 9, 9, 9, 9, 1}}
	want, err := g.Greedy(prefixes, -1, 20)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range prefixes {
		s, _ := dec.NewState(0)
		got, _, err := dec.Generate(s, p, GenerateOptions{MaxNew: 20, Stop: []int{}})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want[i]) {
			t.Fatalf("prefix %d: %d tokens, GPT.Greedy %d", i, len(got), len(want[i]))
		}
		for j := range got {
			if got[j] != want[i][j] {
				t.Fatalf("prefix %d: %v, GPT.Greedy %v", i, got, want[i])
			}
		}
	}
}

// Folders written by attn train: a GPT run loads as a decoder with its
// task's tokenizer; the other architectures are refused by name.
func TestLoadTrained(t *testing.T) {
	for _, tc := range []struct {
		arch train.Arch
		err  string
	}{
		{train.ArchGPT, ""},
		{train.ArchTransformer, "trained encoder-decoder Transformer, not a decoder-only model"},
		{train.ArchEncoder, "not a decoder-only model"},
	} {
		t.Run(string(tc.arch), func(t *testing.T) {
			dir := t.TempDir()
			task := "add"
			if tc.arch == train.ArchEncoder {
				task = "copy"
			}
			rc, err := train.DefaultRunConfig(task)
			if err != nil {
				t.Fatal(err)
			}
			rc.Steps, rc.BatchSize, rc.EvalEvery, rc.EvalSize = 1, 2, 0, 2
			switch tc.arch {
			case train.ArchGPT:
				err = rc.UseGPT()
			case train.ArchEncoder:
				rc.UseEncoder()
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := train.Train(context.Background(), rc, dir, false, train.Hooks{}); err != nil {
				t.Fatal(err)
			}
			f, p, err := Detect(dir)
			if err != nil || f != Trained || p != dir {
				t.Fatalf("Detect: %v %q %v", f, p, err)
			}
			dec, err := LoadDecoder(dir)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("LoadDecoder: %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tok, err := TokenizerFor(filepath.Clean(dir), "", dec.Config.Vocab)
			if err != nil {
				t.Fatal(err)
			}
			ids, err := dec.EncodePrompt(tok, "12+3")
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) != 5 || ids[4] != train.BOS {
				t.Errorf("prompt ids %v, want 4 symbols then BOS", ids)
			}
			if s, _ := tok.Decode(ids); s != "12+3<bos>" {
				t.Errorf("decode %q", s)
			}
		})
	}
}

// KVBytes is what the caches of a state filled to n positions hold.
func TestKVBytes(t *testing.T) {
	rope := SmolLM135M().RoPE
	rope.Dim = 2
	m, err := NewRandomDecoder(DecoderConfig{Arch: ArchLlama, Vocab: 11, DModel: 12, Layers: 3, Heads: 6, KVHeads: 2, HeadDim: 2, DFF: 8,
		Context: 16, Norm: RMSNormKind, Eps: 1e-5, MLP: MLPSwiGLU, RoPE: rope}, 1)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := m.NewState(0)
	if _, err := m.Forward(s, []int{1, 2, 3, 4, 5}, ForwardOptions{}); err != nil {
		t.Fatal(err)
	}
	var held int64
	for _, kv := range s.caches {
		k, v, err := kv.Views(s.Len())
		if err != nil {
			t.Fatal(err)
		}
		held += 4 * int64(k.Len()+v.Len())
	}
	if got := m.Config.KVBytes(5); got != held || got != 2*4*3*2*2*5 {
		t.Errorf("KVBytes(5) = %d, the caches hold %d", got, held)
	}
}
