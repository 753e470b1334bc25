package models

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/attn-go/attn/internal/testmodels"

	"github.com/attn-go/attn/tokenizer"
)

func sharedModel(t *testing.T, parts ...string) string {
	t.Helper()
	return testmodels.Model(t, parts...)
}

func greedy(t *testing.T, m *Decoder, prompt []int, n int) []int {
	t.Helper()
	s, err := m.NewState(0)
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := m.Generate(s, prompt, GenerateOptions{MaxNew: n, Stop: []int{}})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// stories260K at temperature 0 must print what llama2.c's run prints with
// "-t 0.0 -n 200" (the expected_stdout of llama2.c's test_all.py, kept in
// testdata): run.c forwards BOS, then prints each argmax token through
// decode() (no leading space right after BOS, <0xHH> pieces as bytes) and
// safe_printf(), stopping when BOS comes back.
func TestStories260KMatchesLlama2c(t *testing.T) {
	dir := sharedModel(t, "stories260K")
	m, err := Load(filepath.Join(dir, "stories260K.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	d := m.(*Decoder)
	tok, err := tokenizer.LoadLlama2c(filepath.Join(dir, "tok512.bin"), d.Config.Vocab)
	if err != nil {
		t.Fatal(err)
	}
	s, err := d.NewState(0)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	prev := 1
	_, st, err := d.Generate(s, []int{1}, GenerateOptions{MaxNew: 200, OnToken: func(id int) error {
		piece, err := tok.Piece(prev, id)
		b.WriteString(tokenizer.SafePrint(piece))
		prev = id
		return err
	}})
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/stories260K_greedy200.txt")
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("greedy story differs from llama2.c's:\n got: %q\nwant: %q", b.String(), want)
	}
	if st.NewTokens != 200 || st.Stopped {
		t.Errorf("generated %d tokens (stopped %v), want 200 like run.c -n 200", st.NewTokens, st.Stopped)
	}
}

// tiny-random-llama's SOURCE.md records candle generating these ids from
// prompt [1, 2, 3] greedily (an independent implementation).
func TestTinyRandomLlamaKnownIDs(t *testing.T) {
	dir := sharedModel(t, "tiny-random-llama")
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	got := greedy(t, m.(*Decoder), []int{1, 2, 3}, 8)
	want := []int{18568, 1727, 8705, 3598, 27426, 4496, 998, 16911}
	if !slices.Equal(got, want) {
		t.Errorf("greedy ids %v, want %v", got, want)
	}
}

// tiny-gpt2 is a test fixture, not a language model; its greedy output is
// the well-known repetition its SOURCE.md records from public logs.
func TestTinyGPT2KnownOutput(t *testing.T) {
	dir := sharedModel(t, "tiny-gpt2")
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	d := m.(*Decoder)
	tok, err := tokenizer.Load(dir, tokenizer.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ prompt, word string }{
		{"This is a test", " factors"},
		{"Hello world", " stairs"},
	} {
		ids, err := tok.Encode(c.prompt)
		if err != nil {
			t.Fatal(err)
		}
		text, err := tok.Decode(greedy(t, d, ids, 4))
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.Repeat(c.word, 4); text != want {
			t.Errorf("%q continues as %q, want %q", c.prompt, text, want)
		}
	}
}

// WeightBytes must count what a decode step reads of each real checkpoint:
// every stored tensor once, except the tables a step reads one row of
// (GPT-2's learned positions) or not at all (llama2.c's legacy RoPE tables).
func TestWeightBytesMatchesCheckpoints(t *testing.T) {
	for _, c := range []struct {
		path []string
		skip []string // tensor name parts not read in full
	}{
		{[]string{"tiny-random-llama"}, nil},
		{[]string{"tiny-gpt2"}, []string{"wpe"}},
		{[]string{"stories260K", "stories260K.bin"}, []string{"freq_cis"}},
	} {
		t.Run(c.path[0], func(t *testing.T) {
			p := sharedModel(t, c.path...)
			inv, err := Inspect(p)
			if err != nil {
				t.Fatal(err)
			}
			var want int64
		tensors:
			for _, ti := range inv.Tensors {
				for _, s := range c.skip {
					if strings.Contains(ti.Name, s) {
						continue tensors
					}
				}
				n := int64(4)
				for _, d := range ti.Shape {
					n *= int64(d)
				}
				want += n
			}
			m, err := Load(p)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if got := m.(*Decoder).WeightBytes(); got != want {
				t.Errorf("WeightBytes %d, want %d (the inventory's tensors)", got, want)
			}
		})
	}
}
