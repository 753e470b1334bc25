package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attn-go/attn/internal/numcheck"

	"github.com/attn-go/attn/internal/testmodels"

	"github.com/attn-go/attn/safetensors"
	"github.com/attn-go/attn/tensor"
)

const goldenModels = "../../testdata/golden/models/"

func sharedModelPath(t *testing.T, parts ...string) string {
	t.Helper()
	return testmodels.Model(t, parts...)
}

// The CLI's greedy story from stories260K is llama2.c's, byte for byte
// (run.c ends its output with a newline too).
func TestGenerateStories260K(t *testing.T) {
	dir := sharedModelPath(t, "stories260K")
	code, out, errOut := runCLI(t, "generate", "--model", filepath.Join(dir, "stories260K.bin"), "--temperature", "0", "-n", "200", "--prompt", "")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want, err := os.ReadFile("../../models/testdata/stories260K_greedy200.txt")
	if err != nil {
		t.Fatal(err)
	}
	if out != string(want)+"\n" {
		t.Errorf("stdout differs from llama2.c's greedy output:\n got %q\nwant %q", out, string(want)+"\n")
	}
	if !strings.Contains(errOut, "tokens/s") {
		t.Errorf("no tokens/s report on stderr: %q", errOut)
	}
	// A prompt is echoed and continued; the same seed gives the same text.
	args := []string{"generate", "--model", dir, "--prompt", "Once upon a time", "-n", "30", "--seed", "7", "--temperature", "0.8", "--top-k", "40"}
	_, a, _ := runCLI(t, args...)
	_, b, _ := runCLI(t, args...)
	if a != b || !strings.HasPrefix(a, "Once upon a time") || len(a) < 40 {
		t.Errorf("seeded generation not reproducible or too short:\n%q\n%q", a, b)
	}
}

func TestRunWritesLogits(t *testing.T) {
	out := filepath.Join(t.TempDir(), "logits.safetensors")
	code, _, errOut := runCLI(t, "run", "--model", goldenModels+"llama", "--ids", "1,5,9,2", "--logits", out, "--hidden")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	f, err := safetensors.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for name, shape := range map[string][]int{"logits": {4, 109}, "hidden_states": {3, 4, 48}, "input_ids": {4}} {
		info, ok := f.Info(name)
		if !ok || len(info.Shape) != len(shape) {
			t.Fatalf("%s: %+v, want shape %v", name, info, shape)
		}
		for i := range shape {
			if info.Shape[i] != shape[i] {
				t.Errorf("%s shape %v, want %v", name, info.Shape, shape)
			}
		}
	}
}

func TestInspect(t *testing.T) {
	code, out, errOut := runCLI(t, "inspect", goldenModels+"llama_sharded", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var inv struct {
		Format  string
		Tensors []struct {
			Name, DType, File string
			Shape             []int
		}
	}
	if err := json.Unmarshal([]byte(out), &inv); err != nil {
		t.Fatal(err)
	}
	if inv.Format != "huggingface" || len(inv.Tensors) != 21 {
		t.Errorf("inventory format %q with %d tensors, want huggingface with 21", inv.Format, len(inv.Tensors))
	}
	code, out, _ = runCLI(t, "inspect", goldenModels+"llama2c/model.bin")
	if code != 0 || !strings.Contains(out, "llama2c") || !strings.Contains(out, "wcls") && !strings.Contains(out, "output.weight") {
		t.Errorf("inspect llama2c: exit %d\n%s", code, out)
	}
}

// User errors: one line on stderr naming the problem, exit 1.
func TestModelCommandErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.bin")
	os.WriteFile(junk, []byte("this is not a checkpoint at all, just text"), 0o644)
	long := strings.Repeat("1,", 5000) + "1"
	for _, c := range []struct {
		args []string
		sub  string
	}{
		{[]string{"inspect", junk}, "unknown checkpoint format"},
		{[]string{"inspect", filepath.Join(dir, "missing")}, "missing"},
		{[]string{"generate", "--model", junk, "--prompt", "hi"}, "junk.bin"},
		{[]string{"generate", "--model", goldenModels + "llama", "--prompt", "hi"}, "no tokenizer found"},
		{[]string{"generate", "--model", goldenModels + "llama", "--ids", "1,2", "--temperature", "-1"}, "temperature"},
		{[]string{"generate", "--model", goldenModels + "llama", "--ids", "1,x"}, "not an integer"},
		{[]string{"generate", "--model", goldenModels + "llama", "--ids", long}, "context"},
		{[]string{"generate", "--model", goldenModels + "bert", "--ids", "1"}, "encoder"},
		{[]string{"run", "--model", goldenModels + "llama", "--ids", "1,500", "--logits", filepath.Join(dir, "o.safetensors")}, "vocabulary"},
		{[]string{"run", "--model", goldenModels + "llama", "--logits", filepath.Join(dir, "o.safetensors")}, "exactly one"},
		{[]string{"embed", "--model", goldenModels + "llama", "--text", "hi"}, "BERT"},
		{[]string{"embed", "--model", goldenModels + "bert"}, "--text"},
	} {
		code, _, errOut := runCLI(t, c.args...)
		if code != 1 || !strings.Contains(errOut, c.sub) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit 1 and one line containing %q", c.args, code, errOut, c.sub)
		}
	}
}

func TestGenerateIDs(t *testing.T) {
	code, out, errOut := runCLI(t, "generate", "--model", goldenModels+"llama2c/model.bin", "--ids", "1,5,9", "-n", "5", "--temperature", "0")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if n := strings.Count(strings.TrimSpace(out), ",") + 1; n != 5 {
		t.Errorf("printed %q, want 5 comma-separated ids", out)
	}
}

// embed on the golden BERT case with a small WordPiece vocabulary (ids
// below the model's vocabulary): one unit-length JSON vector per text, and
// the same text alone or in a padded batch gives the same vector.
func TestEmbed(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"config.json", "model.safetensors"} {
		b, err := os.ReadFile(goldenModels + "bert/" + name)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, name), b, 0o644)
	}
	vocab, err := os.ReadFile("../../tokenizer/testdata/bert/vocab.txt")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "vocab.txt"), vocab, 0o644)
	embed := func(texts ...string) [][]float64 {
		args := []string{"embed", "--model", dir, "--normalize"}
		for _, s := range texts {
			args = append(args, "--text", s)
		}
		code, out, errOut := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var vs [][]float64
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var v []float64
			if err := json.Unmarshal([]byte(line), &v); err != nil {
				t.Fatal(err)
			}
			vs = append(vs, v)
		}
		return vs
	}
	batch := embed("the quick fox", "a much longer sentence than the first one here")
	alone := embed("the quick fox")
	if len(batch) != 2 || len(batch[0]) != 32 {
		t.Fatalf("got %d vectors of %d, want 2 of 32", len(batch), len(batch[0]))
	}
	var norm, diff float64
	for i, v := range batch[0] {
		norm += v * v
		diff = max(diff, math.Abs(v-alone[0][i]))
	}
	if numcheck.Exceeds(math.Abs(norm-1), 1e-5) {
		t.Errorf("normalised embedding has squared norm %v", norm)
	}
	// Padding is masked out, so only rounding differs (1e-6 on unit vectors).
	if numcheck.Exceeds(diff, 1e-6) {
		t.Errorf("embedding changes by %v when batched with a longer text", diff)
	}
}

// --memory-budget refuses work whose buffers would exceed it, before
// allocating them, with one line saying so.
func TestMemoryBudgetFlag(t *testing.T) {
	defer tensor.SetMemoryBudget(tensor.MemoryBudget())
	code, _, errOut := runCLI(t, "--memory-budget", "1KiB", "generate", "--model", goldenModels+"llama", "--ids", "1,2,3,4,5,6,7,8", "-n", "1", "--temperature", "0")
	if code != 1 || !strings.Contains(errOut, "memory budget") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, "--memory-budget", "lots", "inspect", goldenModels+"llama"); code != 1 || !strings.Contains(errOut, "--memory-budget") {
		t.Errorf("bad budget: exit %d, stderr %q", code, errOut)
	}
	tensor.SetMemoryBudget(0)
}

// TestGenerateChat renders a conversation with the chat template beside
// the tokenizer and generates from it: the prompt is exactly the rendered
// template's tokens, special tokens recognised and nothing added.
func TestGenerateChat(t *testing.T) {
	dir := t.TempDir()
	vocab := map[string]int{"[UNK]": 0, "system": 1, "Be": 2, "brief.": 3, "user": 4, "hi": 5, "assistant": 6}
	for i := len(vocab); i < 107; i++ {
		vocab[fmt.Sprintf("w%d", i)] = i
	}
	tj, _ := json.Marshal(map[string]any{
		"added_tokens": []any{
			map[string]any{"id": 107, "content": "<|im_start|>", "special": true, "normalized": false},
			map[string]any{"id": 108, "content": "<|im_end|>", "special": true, "normalized": false},
		},
		"pre_tokenizer": map[string]any{"type": "WhitespaceSplit"},
		"decoder":       nil,
		"model":         map[string]any{"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"},
	})
	cfg := `{"eos_token": "<|im_end|>", "chat_template": "{% for m in messages %}<|im_start|>{{ m.role }} {{ m.content }}<|im_end|>{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant{% endif %}"}`
	for name, data := range map[string][]byte{"tokenizer.json": tj, "tokenizer_config.json": []byte(cfg)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, _, errOut := runCLI(t, "generate", "--model", goldenModels+"llama", "--tokenizer", dir, "--chat", "--system", "Be brief.", "--prompt", "hi", "-n", "3", "--temperature", "0")
	// <|im_start|> system Be brief. <|im_end|> <|im_start|> user hi <|im_end|> <|im_start|> assistant
	if code != 0 || !strings.Contains(errOut, "prompt: 11 tokens") {
		t.Errorf("exit %d, stderr %q; want a prompt of 11 tokens", code, errOut)
	}
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--system", "x", "--prompt", "hi"}, "--system needs --chat"},
		{[]string{"--chat", "--ids", "1"}, "not --ids"},
		{[]string{"--chat", "--prompt", "hi", "--tokenizer", filepath.Join(dir, "tokenizer.json"), "--model", goldenModels + "gpt2"}, "do not belong together"},
	} {
		args := append([]string{"generate", "--model", goldenModels + "llama"}, c.args...)
		if code, _, errOut := runCLI(t, args...); code != 1 || !strings.Contains(errOut, c.msg) {
			t.Errorf("%v: exit %d, %q; want %q", c.args, code, errOut, c.msg)
		}
	}
}
