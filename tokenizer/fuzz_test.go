package tokenizer

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func checkIDs(t *testing.T, ids []int, n int) {
	t.Helper()
	for _, id := range ids {
		if id < 0 || id >= n {
			t.Fatalf("id %d out of range [0, %d)", id, n)
		}
	}
}

// streamAll decodes ids through a Stream and checks it agrees with Decode.
func streamAll(t *testing.T, tk Tokenizer, ids []int) {
	t.Helper()
	want, err := tk.Decode(ids)
	if err != nil {
		t.Fatal(err)
	}
	s := NewStream(tk)
	var sb strings.Builder
	for _, id := range ids {
		part, err := s.Next(id)
		if err != nil {
			t.Fatal(err)
		}
		sb.WriteString(part)
	}
	sb.WriteString(s.Flush())
	if sb.String() != want {
		t.Fatalf("stream %q != Decode %q", sb.String(), want)
	}
}

func FuzzParseLlama2c(f *testing.F) {
	f.Add(buildBin(3, []string{"a", " ", "ab"}, []float32{0, -1, -2}), 3)
	f.Add(buildBin(3, []string{"a", " "}, []float32{0, 0})[:9], 2)
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 127}, 1)
	f.Fuzz(func(t *testing.T, data []byte, n int) {
		tk, err := ParseLlama2c(data, n)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "tokenizer: ") {
				t.Fatalf("error without prefix: %v", err)
			}
			return
		}
		if tk.VocabSize() != n {
			t.Fatalf("VocabSize %d, want %d", tk.VocabSize(), n)
		}
		for id := range n {
			p, _, err := tk.Token(id)
			if err != nil || tk.ID(p) != id || len(p) > tk.MaxTokenLength() {
				t.Fatalf("token %d %q: ID %d, err %v", id, p, tk.ID(p), err)
			}
		}
		text := "ab a\xff"
		ids, err := tk.Encode(text)
		if err == nil {
			checkIDs(t, ids, n)
			if len(ids) > len(text)+1 {
				t.Fatalf("%d ids for %d bytes", len(ids), len(text))
			}
			if !reflect.DeepEqual(ids, naiveRunC(tk, text)) {
				t.Fatalf("Encode %v != run.c %v", ids, naiveRunC(tk, text))
			}
		}
	})
}

func FuzzLlama2c(f *testing.F) {
	for _, s := range []string{"", "the abc", "é\x80ü", "aaa cc ee", "\x00\n"} {
		f.Add(s)
	}
	tk := smallLlama(f)
	f.Fuzz(func(t *testing.T, text string) {
		ids, err := tk.Encode(text)
		if err != nil {
			t.Fatal(err)
		}
		checkIDs(t, ids, tk.VocabSize())
		if len(ids) > len(text)+1 {
			t.Fatalf("%d ids for %d bytes", len(ids), len(text))
		}
		if len(text) <= 64 && !slices.Equal(ids, naiveRunC(tk, text)) {
			t.Fatalf("Encode %v != run.c %v", ids, naiveRunC(tk, text))
		}
		// Byte fallback makes any text round-trip, behind the dummy-prefix
		// space.
		want := ""
		if text != "" {
			want = " " + text
		}
		if got, err := tk.Decode(ids); err != nil || got != want {
			t.Fatalf("Decode(Encode(%q)) = %q, %v", text, got, err)
		}
		streamAll(t, tk, ids)
	})
}

func FuzzParseGPT2(f *testing.F) {
	v, _ := os.ReadFile("testdata/gpt2/vocab.json")
	f.Add([]byte(`{"a": 0, "b": 1, "ab": 2}`), []byte("#version: 0.2\na b\n"))
	f.Add([]byte(`{"a": 0, "a": 1}`), []byte("a a\n"))
	f.Add(v, []byte("Ġ t\n"))
	f.Fuzz(func(t *testing.T, vocab, merges []byte) {
		tk, err := ParseGPT2(vocab, merges)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "tokenizer: ") {
				t.Fatalf("error without prefix: %v", err)
			}
			return
		}
		text := "ab Ġt é"
		ids, err := tk.Encode(text)
		if err != nil {
			return // a vocab without some byte tokens
		}
		checkIDs(t, ids, tk.VocabSize())
		if got, err := tk.Decode(ids); err != nil || got != text {
			t.Fatalf("Decode(Encode(%q)) = %q, %v", text, got, err)
		}
	})
}

func FuzzGPT2(f *testing.F) {
	for _, s := range []string{"", "Hello world", "I'm  here\n\n", "a<|endoftext|>b", "\xff\xfe 🙂"} {
		f.Add(s)
	}
	tk := loadSmallGPT2(f)
	f.Fuzz(func(t *testing.T, text string) {
		for _, special := range []bool{false, true} {
			ids, err := tk.EncodeWith(text, EncodeOptions{Special: special})
			if err != nil {
				t.Fatal(err)
			}
			checkIDs(t, ids, tk.VocabSize())
			if len(ids) > len(text) {
				t.Fatalf("%d ids for %d bytes", len(ids), len(text))
			}
			// Byte-level: every byte string round-trips.
			if got, err := tk.Decode(ids); err != nil || got != text {
				t.Fatalf("Decode(Encode(%q, special=%v)) = %q, %v", text, special, got, err)
			}
			streamAll(t, tk, ids)
		}
	})
}

func FuzzParseHF(f *testing.F) {
	lb, _ := os.ReadFile("testdata/llama-bpe/tokenizer.json")
	f.Add(lb)
	f.Add([]byte(wordPieceJSON))
	f.Add([]byte(`{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}, "pre_tokenizer": {"type": "ByteLevel"}}`))
	f.Add([]byte(`{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [["a", "a"]]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tk, err := ParseHF(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "tokenizer: ") {
				t.Fatalf("error without prefix: %v", err)
			}
			return
		}
		for _, text := range []string{"Hello wörld <s>", "ab", ""} {
			ids, err := tk.Encode(text)
			if err != nil {
				continue // e.g. no token for a character and no unk
			}
			checkIDs(t, ids, tk.VocabSize())
			if _, err := tk.Decode(ids); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func FuzzLlamaStyleBPE(f *testing.F) {
	for _, s := range []string{"", "Hello world", " the  é!", "<s>\xff", "日本"} {
		f.Add(s)
	}
	tk := loadLlamaBPE(f)
	f.Fuzz(func(t *testing.T, text string) {
		ids, err := tk.Encode(text)
		if err != nil {
			t.Fatal(err)
		}
		checkIDs(t, ids, tk.VocabSize())
		if len(ids) > len(text)+1 {
			t.Fatalf("%d ids for %d bytes", len(ids), len(text))
		}
		// "▁" in the text decodes as a space, so only text without it
		// round-trips.
		if !strings.Contains(text, metaSpace) {
			if got, err := tk.Decode(ids); err != nil || got != text {
				t.Fatalf("Decode(Encode(%q)) = %q, %v", text, got, err)
			}
		}
		streamAll(t, tk, ids)
	})
}

func FuzzWordPiece(f *testing.F) {
	for _, s := range []string{"", "Hello, World!", "unaffable café", "你好abc", "[CLS] don't\x00"} {
		f.Add(s)
	}
	tk := loadBERT(f, WordPieceOptions{})
	f.Fuzz(func(t *testing.T, text string) {
		ids, err := tk.EncodeWith(text, EncodeOptions{AddBOS: true, AddEOS: true})
		if err != nil {
			t.Fatal(err)
		}
		checkIDs(t, ids, tk.VocabSize())
		if len(ids) > utf8.RuneCountInString(text)+2 {
			t.Fatalf("%d ids for %d characters", len(ids), utf8.RuneCountInString(text))
		}
		ids = ids[1 : len(ids)-1]
		streamAll(t, tk, ids)
		if slices.Contains(ids, tk.ID("[UNK]")) {
			return
		}
		// Decoding loses case, accents and spacing, but not the tokens.
		dec, err := tk.Decode(ids)
		if err != nil {
			t.Fatal(err)
		}
		again, err := tk.Encode(dec)
		if err != nil || !slices.Equal(again, ids) {
			t.Fatalf("Encode(Decode(%v)) = %v via %q", ids, again, dec)
		}
	})
}

// FuzzPipeline encodes arbitrary text, invalid UTF-8 included, with the
// committed tokenizer.json files: no error or panic, ids in range, at most
// a few ids per byte, the stream agreeing with Decode, and for byte-level
// BPE (GPT-2's alphabet covers every byte) decode giving the text back.
func FuzzPipeline(f *testing.F) {
	for _, s := range []string{"", "Hello world", " the  é!\n\n", "<|endoftext|>x\xff", "日本 🙂 don't", "\xe2\x82", "[CLS] a"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	paths := []string{"testdata/golden/gpt2.tokenizer.json", "testdata/golden/bert.tokenizer.json", "testdata/llama-bpe/tokenizer.json"}
	var toks []*Pipeline
	for _, p := range paths {
		tk, err := LoadHF(p)
		if err != nil {
			f.Fatal(err)
		}
		toks = append(toks, tk)
	}
	f.Fuzz(func(t *testing.T, text string, special bool) {
		for i, tk := range toks {
			ids, err := tk.EncodeWith(text, EncodeOptions{Special: special, AddSpecialTokens: special})
			if err != nil {
				t.Fatalf("%s: %v", paths[i], err)
			}
			checkIDs(t, ids, tk.VocabSize())
			if len(ids) > 4*len(text)+4 {
				t.Fatalf("%s: %d ids for %d bytes", paths[i], len(ids), len(text))
			}
			streamAll(t, tk, ids)
			if i == 0 && !special {
				if got, err := tk.Decode(ids); err != nil || got != text {
					t.Fatalf("%s: Decode(Encode(%q)) = %q, %v", paths[i], text, got, err)
				}
			}
		}
	})
}
