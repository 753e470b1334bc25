package models

import (
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// One loaded model serves many goroutines at once, each with its own
// State, and each gets exactly the serial answer (run under -race in CI).
func TestConcurrentGeneration(t *testing.T) {
	m, err := Load(filepath.Join(goldenDir, "llama"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	d := m.(*Decoder)
	prompts := [][]int{{1, 2, 3}, {4, 5}, {7}, {9, 8, 7, 6, 5, 4}}
	want := make([][]int, len(prompts))
	for i, p := range prompts {
		want[i] = greedy(t, d, p, 12)
	}
	var wg sync.WaitGroup
	got := make([][][]int, 8)
	for g := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, p := range prompts {
				s, err := d.NewState(0)
				if err != nil {
					t.Error(err)
					return
				}
				out, _, err := d.Generate(s, p, GenerateOptions{MaxNew: 12, Stop: []int{}})
				if err != nil {
					t.Error(err)
					return
				}
				got[g] = append(got[g], out)
			}
		}()
	}
	wg.Wait()
	for g := range got {
		for i := range prompts {
			if i >= len(got[g]) || !slices.Equal(got[g][i], want[i]) {
				t.Fatalf("goroutine %d prompt %d: %v, want %v", g, i, got[g], want[i])
			}
		}
	}
}

// Sampling with a seed is reproducible, and top-k 1 is greedy.
func TestSamplingSeeded(t *testing.T) {
	m, err := Load(filepath.Join(goldenDir, "gpt2"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	d := m.(*Decoder)
	gen := func(s Sampling) []int {
		st, _ := d.NewState(0)
		out, _, err := d.Generate(st, []int{3, 1, 4}, GenerateOptions{MaxNew: 20, Stop: []int{}, Sampling: s})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	s := Sampling{Temperature: 8, TopP: 0.99, TopK: 90, RepetitionPenalty: 1.1, Seed: 42}
	a, b := gen(s), gen(s)
	if !slices.Equal(a, b) {
		t.Errorf("same seed, different tokens: %v vs %v", a, b)
	}
	s.Seed = 43
	if c := gen(s); slices.Equal(a, c) {
		t.Errorf("seeds 42 and 43 gave the same 20 tokens %v", a)
	}
	if g, k1 := gen(Sampling{}), gen(Sampling{Temperature: 1, TopK: 1, Seed: 9}); !slices.Equal(g, k1) {
		t.Errorf("top-k 1 %v differs from greedy %v", k1, g)
	}
}

func TestSamplerDistribution(t *testing.T) {
	// logits ln(1), ln(2), ln(7): probabilities 0.1, 0.2, 0.7. Top-p 0.75
	// keeps {2, 1} (0.7 + 0.2 ≥ 0.75), renormalised to 7/9 and 2/9.
	logits := []float32{0, 0.6931472, 1.9459101}
	s, err := NewSampler(Sampling{Temperature: 1, TopP: 0.75, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	counts := make([]int, 3)
	const n = 90000
	for range n {
		counts[s.Next(logits, nil)]++
	}
	if counts[0] != 0 {
		t.Errorf("top-p kept token 0 (%d draws)", counts[0])
	}
	// Binomial standard deviation sqrt(n·p·(1−p)) ≈ 125 draws; allow 5σ.
	if want := n * 7 / 9; counts[2] < want-625 || counts[2] > want+625 {
		t.Errorf("token 2 drawn %d times, want %d ± 625", counts[2], want)
	}
	// The repetition penalty lowers a seen token's positive logit.
	g, _ := NewSampler(Sampling{RepetitionPenalty: 10})
	if got := g.Next([]float32{0.5, 1, 0.9}, []int{1}); got != 2 {
		t.Errorf("greedy with penalty picked %d, want 2", got)
	}
}
