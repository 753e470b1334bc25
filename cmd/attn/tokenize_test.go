package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The ids are those of Hugging Face's tokenizers for this file
// (tokenizer/testdata/golden/llama-bpe.json covers the same file).
func TestTokenizeCommand(t *testing.T) {
	tok := "../../tokenizer/testdata/llama-bpe/tokenizer.json"
	code, out, errOut := runCLI(t, "tokenize", "--tokenizer", tok, "--text", "Hello world")
	if code != 0 || out != "277 280\n" {
		t.Fatalf("exit %d, out %q, err %q", code, out, errOut)
	}
	// This file has no post-processor: --special adds nothing, as in
	// Hugging Face; the BERT golden file's template adds [CLS] and [SEP].
	if _, out, _ = runCLI(t, "tokenize", "--tokenizer", tok, "--text", "Hello world", "--special"); out != "277 280\n" {
		t.Errorf("--special: %q", out)
	}
	bert := "../../tokenizer/testdata/golden/bert.tokenizer.json"
	if _, out, _ = runCLI(t, "tokenize", "--tokenizer", bert, "--text", "the", "--special", "--json"); !strings.HasPrefix(out, `{"ids":[2,`) || !strings.Contains(out, `"tokens":["[CLS]","the","[SEP]"]`) {
		t.Errorf("bert --special: %q", out)
	}
	_, out, _ = runCLI(t, "tokenize", "--tokenizer", tok, "--text", "<s>Hello", "--json")
	var got struct {
		IDs    []int    `json:"ids"`
		Tokens []string `json:"tokens"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || !slices.Equal(got.IDs, []int{1, 277}) || !slices.Equal(got.Tokens, []string{"<s>", "▁Hello"}) {
		t.Errorf("--json: %q (%v)", out, err)
	}
	if _, out, _ = runCLI(t, "tokenize", "--tokenizer", tok, "--decode", "1,277,280"); out != "<s> Hello world" {
		t.Errorf("--decode: %q", out)
	}
	if _, out, _ = runCLI(t, "tokenize", "--tokenizer", tok, "--decode", "1,277,280", "--skip-special", "--json"); out != `{"text":"Hello world"}`+"\n" {
		t.Errorf("--decode --skip-special --json: %q", out)
	}
	file := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(file, []byte("Hello world"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, out, _ = runCLI(t, "tokenize", "--tokenizer", tok, "--file", file); out != "277 280\n" {
		t.Errorf("--file: %q", out)
	}
	if _, out, _ = runCLI(t, "tokenize", "--tokenizer", tok, "--text", ""); out != "\n" {
		t.Errorf("empty text: %q", out)
	}
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--text", "a"}, "--tokenizer is required"},
		{[]string{"--tokenizer", tok}, "exactly one of"},
		{[]string{"--tokenizer", tok, "--text", "a", "--decode", "1"}, "exactly one of"},
		{[]string{"--tokenizer", tok, "--decode", "1,x"}, `--decode: "x" is not an integer`},
		{[]string{"--tokenizer", tok, "--decode", "99999"}, "out of range"},
		{[]string{"--tokenizer", tok, "--file", "/nonexistent"}, "--file"},
		{[]string{"--tokenizer", "/nonexistent", "--text", "a"}, "no such file"},
	} {
		code, _, errOut := runCLI(t, append([]string{"tokenize"}, c.args...)...)
		if code != 1 || !strings.Contains(errOut, c.msg) {
			t.Errorf("%v: exit %d, %q; want %q", c.args, code, errOut, c.msg)
		}
	}
}
