package tokenizer

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func TestStream(t *testing.T) {
	tk := loadSmallGPT2(t)
	text := "Hello 世界 é🙂 world"
	ids, err := tk.Encode(text)
	if err != nil {
		t.Fatal(err)
	}
	s := NewStream(tk)
	var out strings.Builder
	for _, id := range ids {
		part, err := s.Next(id)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(part, "\xff") && part != "" && !isValidUTF8(part) {
			t.Errorf("Next(%d) = %q: not whole characters", id, part)
		}
		out.WriteString(part)
	}
	out.WriteString(s.Flush())
	if out.String() != text {
		t.Errorf("stream = %q, want %q", out.String(), text)
	}
	// Bytes that can never complete are passed on, not held.
	s = NewStream(tk)
	if part, _ := s.Next(tk.byteID[0xFF]); part != "\xff" {
		t.Errorf("Next(0xFF) = %q", part)
	}
	if part, _ := s.Next(tk.byteID[0xE4]); part != "" {
		t.Errorf("Next(0xE4) = %q, want it held", part)
	}
	if rest := s.Flush(); rest != "\xe4" {
		t.Errorf("Flush = %q", rest)
	}
	if _, err := s.Next(-3); err == nil {
		t.Error("Next(-3): no error")
	}
}

func isValidUTF8(s string) bool { return strings.ToValidUTF8(s, "\x00") == s }

func TestCompleteUTF8(t *testing.T) {
	cases := []struct {
		in   string
		want int
	}{
		{"", 0}, {"a", 1}, {"\xe4", 0}, {"\xe4\xb8", 0}, {"\xe4\xb8\x96", 3},
		{"a\xf0\x9f\x99", 1}, {"\xe0\x80", 2}, {"\x80\x80\x80\x80", 4}, {"\xff", 1},
	}
	for _, c := range cases {
		if got := completeUTF8([]byte(c.in)); got != c.want {
			t.Errorf("completeUTF8(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

func TestStreamSetPrev(t *testing.T) {
	sp := loadLlamaBPE(t)
	s := NewStream(sp)
	s.SetPrev(sp.BOS())
	a, _ := s.Next(277)
	b, _ := s.Next(280)
	if a+b != "Hello world" {
		t.Errorf("after BOS: %q", a+b)
	}
	s = NewStream(sp)
	s.SetPrev(277) // continuing after a prompt keeps the space
	if a, _ := s.Next(280); a != " world" {
		t.Errorf("after a prompt token: %q", a)
	}
	lt := smallLlama(t)
	s = NewStream(lt)
	s.SetPrev(lt.BOS())
	if a, _ := s.Next(lt.ID(" the")); a != "the" {
		t.Errorf("llama2.c after BOS: %q", a)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	copyFile := func(src, dst string) {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyFile("testdata/gpt2/vocab.json", filepath.Join(dir, "gpt2/vocab.json"))
	copyFile("testdata/gpt2/merges.txt", filepath.Join(dir, "gpt2/merges.txt"))
	copyFile("testdata/bert/vocab.txt", filepath.Join(dir, "bert/vocab.txt"))
	copyFile("testdata/bert/vocab.txt", filepath.Join(dir, "bert-cased/vocab.txt"))
	if err := os.WriteFile(filepath.Join(dir, "bert-cased/tokenizer_config.json"), []byte(`{"do_lower_case": false}`), 0o644); err != nil {
		t.Fatal(err)
	}
	copyFile("testdata/llama-bpe/tokenizer.json", filepath.Join(dir, "llama/tokenizer.json"))
	pieces, scores := smallLlamaVocab()
	if err := os.WriteFile(filepath.Join(dir, "tok.bin"), buildBin(8, pieces, scores), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path string
		opt  LoadOptions
		want string // type name, or error text
	}{
		{"gpt2", LoadOptions{}, "*tokenizer.ByteLevelBPE"},
		{"gpt2/vocab.json", LoadOptions{}, "*tokenizer.ByteLevelBPE"},
		{"bert", LoadOptions{}, "*tokenizer.WordPiece"},
		{"bert/vocab.txt", LoadOptions{}, "*tokenizer.WordPiece"},
		{"llama", LoadOptions{}, "*tokenizer.Pipeline"},
		{"llama/tokenizer.json", LoadOptions{}, "*tokenizer.Pipeline"},
		{"tok.bin", LoadOptions{VocabSize: len(pieces)}, "*tokenizer.Llama2c"},
		{"tok.bin", LoadOptions{}, "needs LoadOptions.VocabSize"},
		{"tok.bin", LoadOptions{VocabSize: 3}, "mismatch"},
		{"empty", LoadOptions{}, "no tokenizer.json"},
		{"missing", LoadOptions{}, "no such file"},
	}
	for _, c := range cases {
		p := filepath.Join(dir, c.path)
		tk, err := Load(p, c.opt)
		got := ""
		if err != nil {
			got = err.Error()
			if !strings.HasPrefix(got, "tokenizer: ") || !strings.Contains(got, p) {
				t.Errorf("Load(%s): error %q does not name the path", c.path, got)
			}
		} else {
			got = reflect.TypeOf(tk).String()
		}
		if !strings.Contains(got, c.want) {
			t.Errorf("Load(%s) = %s, want %s", c.path, got, c.want)
		}
	}
	tk, err := Load(filepath.Join(dir, "bert-cased"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ids, _ := tk.Encode("Hello"); !reflect.DeepEqual(ids, []int{1}) {
		t.Errorf("cased BERT from tokenizer_config.json: %v", ids)
	}
}

// TestConcurrent checks that one tokenizer serves many goroutines: the word
// cache is shared and must neither race nor mix up words.
func TestConcurrent(t *testing.T) {
	texts := []string{"Hello world", "the theme in a world", "é\n\n héllo", "Hello, world! the", strings.Repeat("in a ", 50)}
	toks := []Tokenizer{loadSmallGPT2(t), loadLlamaBPE(t), loadBERT(t, WordPieceOptions{}), smallLlama(t)}
	for _, tk := range toks {
		want := make([][]int, len(texts))
		for i, s := range texts {
			var err error
			if want[i], err = tk.Encode(s); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		errs := make(chan string, 8)
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := range 200 {
					i := (g + k) % len(texts)
					got, err := tk.Encode(texts[i])
					if err != nil || !reflect.DeepEqual(got, want[i]) {
						errs <- texts[i]
						return
					}
					if _, err := tk.Decode(got); err != nil {
						errs <- err.Error()
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Errorf("%T: concurrent Encode(%q) differs from serial", tk, e)
		}
	}
}
