package tokenizer

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/attn-go/attn/internal/testmodels"
)

// The golden files of testdata/golden hold, for every text of
// testdata/corpus.json, the ids and decodings of Hugging Face's
// tokenizers (scripts/golden/tokenizers/gen.mjs writes them). The
// comparison is exact: a tokenizer either gives the same ids or it is
// wrong.

type corpusText struct {
	Name string `json:"name"`
	Text string `json:"text"`
}

type goldenCase struct {
	Name               string `json:"name"`
	IDs                []int  `json:"ids"`
	IDsSpecial         []int  `json:"ids_special"`
	Decoded            string `json:"decoded"`
	DecodedSkipSpecial string `json:"decoded_skip_special"`
}

type goldenFile struct {
	Tokenizer string       `json:"tokenizer"`
	SHA256    string       `json:"sha256"`
	Generator string       `json:"generator"`
	Cases     []goldenCase `json:"cases"`
}

// goldenOverride replaces a reference case where the reference
// implementation is known to differ from Hugging Face's Rust library
// (testdata/golden/overrides.json; the why is in the file).
type goldenOverride struct {
	IDs                []int   `json:"ids"`
	IDsSpecial         []int   `json:"ids_special"`
	Decoded            *string `json:"decoded"`
	DecodedSkipSpecial *string `json:"decoded_skip_special"`
	Why                string  `json:"why"`
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func loadCorpus(t testing.TB) []corpusText {
	var c []corpusText
	readJSON(t, "testdata/corpus.json", &c)
	if len(c) == 0 {
		t.Fatal("empty corpus")
	}
	return c
}

// goldenTokenizers names each golden file's tokenizer.json: the shared
// real files (the test skips when they are absent) and the repo's own.
var goldenTokenizers = []struct {
	name   string
	shared bool
	path   string // in the repo, when not shared
}{
	{"llama3", true, ""},
	{"qwen3", true, ""},
	{"gemma3", true, ""},
	{"llama2", true, ""},
	{"deepseek_v3", true, ""},
	{"gptoss", true, ""},
	{"llama-bpe", false, "testdata/llama-bpe/tokenizer.json"},
	{"gpt2", false, "testdata/golden/gpt2.tokenizer.json"},
	{"bert", false, "testdata/golden/bert.tokenizer.json"},
}

func goldenPath(t testing.TB, name string, shared bool, path string) string {
	if shared {
		return testmodels.Tokenizer(t, name, "tokenizer.json")
	}
	return path
}

func fileSHA256(t testing.TB, path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func TestGoldenIDs(t *testing.T) {
	corpus := loadCorpus(t)
	overrides := map[string]map[string]goldenOverride{}
	readJSON(t, "testdata/golden/overrides.json", &overrides)
	for _, g := range goldenTokenizers {
		t.Run(g.name, func(t *testing.T) {
			path := goldenPath(t, g.name, g.shared, g.path)
			var gf goldenFile
			readJSON(t, filepath.Join("testdata/golden", g.name+".json"), &gf)
			if sum := fileSHA256(t, path); sum != gf.SHA256 {
				t.Skipf("%s has sha256 %s, the golden file was made from %s", path, sum, gf.SHA256)
			}
			if len(gf.Cases) != len(corpus) {
				t.Fatalf("%d golden cases for %d corpus texts", len(gf.Cases), len(corpus))
			}
			tk, err := LoadHF(path)
			if err != nil {
				t.Fatal(err)
			}
			bad := 0
			for i, c := range gf.Cases {
				text := corpus[i]
				if c.Name != text.Name {
					t.Fatalf("case %d is %q, corpus text %q", i, c.Name, text.Name)
				}
				want, wantSpecial := c.IDs, c.IDsSpecial
				if o, ok := overrides[g.name][c.Name]; ok {
					if o.Why == "" || o.IDs == nil || o.IDsSpecial == nil {
						t.Fatalf("override of %s lacks ids, ids_special or why", c.Name)
					}
					want, wantSpecial = o.IDs, o.IDsSpecial
					if o.Decoded != nil {
						c.Decoded = *o.Decoded
					}
					if o.DecodedSkipSpecial != nil {
						c.DecodedSkipSpecial = *o.DecodedSkipSpecial
					}
				}
				check := func(what string, opt EncodeOptions, want []int) {
					got, err := tk.EncodeWith(text.Text, opt)
					if err != nil || !slices.Equal(got, want) {
						bad++
						if bad <= 10 {
							t.Errorf("%s %s: %q\n got  %v (err %v)\n want %v", c.Name, what, clip(text.Text), got, err, want)
						}
					}
				}
				check("ids", EncodeOptions{Special: true}, want)
				check("ids_special", EncodeOptions{Special: true, AddSpecialTokens: true}, wantSpecial)
				if s, err := tk.DecodeWith(wantSpecial, DecodeOptions{}); err != nil || s != c.Decoded {
					bad++
					if bad <= 10 {
						t.Errorf("%s: Decode = %q, %v; want %q", c.Name, clip(s), err, clip(c.Decoded))
					}
				}
				if s, err := tk.DecodeWith(wantSpecial, DecodeOptions{SkipSpecial: true}); err != nil || s != c.DecodedSkipSpecial {
					bad++
					if bad <= 10 {
						t.Errorf("%s: Decode(SkipSpecial) = %q, %v; want %q", c.Name, clip(s), err, clip(c.DecodedSkipSpecial))
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d mismatches in %d cases", bad, len(gf.Cases))
			}
		})
	}
}

// clip shortens a text for a failure message.
func clip(s string) string {
	if len(s) > 120 {
		return fmt.Sprintf("%s… (%d bytes)", s[:120], len(s))
	}
	return s
}

// benchText is the text of the encode benchmarks, defined as
// scripts/golden/tokenizers/bench.mjs defines it: the corpus texts joined
// with "\n", repeated (joined with "\n") until it holds at least 4 MiB.
func benchText(b *testing.B) string {
	var parts []string
	for _, c := range loadCorpus(b) {
		parts = append(parts, c.Text)
	}
	one := strings.Join(parts, "\n")
	reps := []string{one}
	for len(strings.Join(reps, "\n")) < 4<<20 {
		reps = append(reps, one)
	}
	return strings.Join(reps, "\n")
}

// BenchmarkEncode measures encode throughput (MB/s through b.SetBytes)
// of every golden tokenizer on the mixed corpus text.
func BenchmarkEncode(b *testing.B) {
	text := benchText(b)
	for _, g := range goldenTokenizers {
		b.Run(g.name, func(b *testing.B) {
			tk, err := LoadHF(goldenPath(b, g.name, g.shared, g.path))
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				if _, err := tk.EncodeWith(text, EncodeOptions{Special: true}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestGoldenUnigram runs the committed T5-layout Unigram fixture
// (Precompiled normalizer, Metaspace, Unigram, TemplateProcessing) through
// the whole pipeline against its goldens (scripts/golden/unigram).
func TestGoldenUnigram(t *testing.T) {
	tk, err := LoadHF("testdata/unigram/tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Cases []struct {
			Text       string `json:"text"`
			IDs        []int  `json:"ids"`
			IDsSpecial []int  `json:"ids_special"`
			Decoded    string `json:"decoded"`
		} `json:"cases"`
	}
	readJSON(t, "testdata/unigram/golden.json", &g)
	if len(g.Cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range g.Cases {
		if got, err := tk.EncodeWith(c.Text, EncodeOptions{Special: true}); err != nil || !slices.Equal(got, c.IDs) {
			t.Errorf("%q: %v, %v; want %v", c.Text, got, err, c.IDs)
		}
		if got, err := tk.EncodeWith(c.Text, EncodeOptions{Special: true, AddSpecialTokens: true}); err != nil || !slices.Equal(got, c.IDsSpecial) {
			t.Errorf("%q special: %v, %v; want %v", c.Text, got, err, c.IDsSpecial)
		}
		if s, err := tk.Decode(c.IDs); err != nil || s != c.Decoded {
			t.Errorf("%q: decoded %q, %v; want %q", c.Text, s, err, c.Decoded)
		}
	}
}
