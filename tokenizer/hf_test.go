package tokenizer

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

func loadLlamaBPE(t testing.TB) *Pipeline {
	t.Helper()
	tk, err := LoadHF("testdata/llama-bpe/tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// editJSON decodes a tokenizer.json, lets edit change it and encodes it.
func editJSON(t testing.TB, path string, edit func(m map[string]any)) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLlamaStyleBPE(t *testing.T) {
	tk := loadLlamaBPE(t)
	b := func(c byte) int { return 3 + int(c) }
	cases := []struct {
		text string
		want []int
	}{
		{"", nil},
		{"Hello world", []int{277, 280}},
		{"Hello, world!", []int{277, 270, 280, 268}},
		{"the", []int{283}},
		{" the", []int{259, 283}},
		{"é", []int{259, b(0xC3), b(0xA9)}},
		{"w\xffo", []int{271, b(0xFF), 264}}, // an invalid byte falls back to itself
		{"<s>", []int{259, b('<'), b('s'), b('>')}},
	}
	for _, c := range cases {
		got, err := tk.Encode(c.text)
		if err != nil || !reflect.DeepEqual(got, c.want) && len(got)+len(c.want) > 0 {
			t.Errorf("Encode(%q) = %v, %v; want %v", c.text, got, err, c.want)
		}
		if s, err := tk.Decode(got); err != nil || s != c.text {
			t.Errorf("Decode(Encode(%q)) = %q, %v", c.text, s, err)
		}
	}
	if tk.BOS() != 1 || tk.EOS() != 2 || tk.VocabSize() != 284 {
		t.Errorf("BOS %d EOS %d VocabSize %d", tk.BOS(), tk.EOS(), tk.VocabSize())
	}
	got, err := tk.EncodeWith("<s>Hello</s>", EncodeOptions{Special: true, AddBOS: true})
	if want := []int{1, 1, 277, 2}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("EncodeWith(Special) = %v, %v; want %v", got, err, want)
	}
	for _, c := range []struct {
		ids  []int
		want string
	}{
		{[]int{1, 277, 280}, "<s> Hello world"}, // text before the space keeps it
		{[]int{280, 277}, "world Hello"},
		{[]int{b(0x20), 277}, " Hello"}, // only one leading space goes
	} {
		if s, err := tk.Decode(c.ids); err != nil || s != c.want {
			t.Errorf("Decode(%v) = %q, %v; want %q", c.ids, s, err, c.want)
		}
	}
	// Metaspace pre-tokenizer in place of the normalizer: same ids.
	meta := editJSON(t, "testdata/llama-bpe/tokenizer.json", func(m map[string]any) {
		m["normalizer"] = nil
		m["pre_tokenizer"] = map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false}
	})
	tm, err := ParseHF(meta)
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"Hello world", "the  é", "Hello, world!"} {
		a, _ := tk.Encode(text)
		m, _ := tm.Encode(text)
		if !reflect.DeepEqual(a, m) {
			t.Errorf("Metaspace Encode(%q) = %v, Prepend+Replace %v", text, m, a)
		}
	}
	// prepend_scheme "first" puts "▁" only before the first segment.
	got, _ = tm.EncodeWith("<s>Hello", EncodeOptions{Special: true})
	if want := []int{1, 260, 275, 264}; !reflect.DeepEqual(got, want) {
		t.Errorf("Metaspace first: %v, want %v", got, want)
	}
}

func TestHFByteLevel(t *testing.T) {
	v, _ := os.ReadFile("testdata/gpt2/vocab.json")
	mt, _ := os.ReadFile("testdata/gpt2/merges.txt")
	var vocab map[string]int
	if err := json.Unmarshal(v, &vocab); err != nil {
		t.Fatal(err)
	}
	merges := strings.Split(strings.TrimSpace(string(mt)), "\n")[1:]
	build := func(prefixSpace bool, arrayMerges bool) []byte {
		var ms any = merges
		if arrayMerges {
			var pairs [][]string
			for _, m := range merges {
				pairs = append(pairs, strings.Split(m, " "))
			}
			ms = pairs
		}
		data, _ := json.Marshal(map[string]any{
			"added_tokens":  []any{map[string]any{"id": vocab["<|endoftext|>"], "content": "<|endoftext|>", "special": true}},
			"normalizer":    nil,
			"pre_tokenizer": map[string]any{"type": "ByteLevel", "add_prefix_space": prefixSpace, "use_regex": true},
			"decoder":       map[string]any{"type": "ByteLevel"},
			"model":         map[string]any{"type": "BPE", "vocab": vocab, "merges": ms},
		})
		return data
	}
	ref := loadSmallGPT2(t)
	for _, arr := range []bool{false, true} {
		tk, err := ParseHF(build(false, arr))
		if err != nil {
			t.Fatal(err)
		}
		for _, text := range []string{"Hello world", " the  theme\n\n", "é!"} {
			a, _ := ref.Encode(text)
			b, _ := tk.Encode(text)
			if !reflect.DeepEqual(a, b) {
				t.Errorf("tokenizer.json Encode(%q) = %v, vocab.json %v", text, b, a)
			}
		}
	}
	tk, err := ParseHF(build(true, false))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := tk.Encode("world")
	b, _ := ref.Encode(" world")
	if !reflect.DeepEqual(a, b) {
		t.Errorf("add_prefix_space: %v, want %v", a, b)
	}
	if tk.BOS() != vocab["<|endoftext|>"] || tk.EOS() != tk.BOS() {
		t.Errorf("BOS %d EOS %d", tk.BOS(), tk.EOS())
	}
}

const wordPieceJSON = `{
 "added_tokens": [{"id": 0, "content": "[PAD]", "special": true}, {"id": 1, "content": "[UNK]", "special": true},
  {"id": 2, "content": "[CLS]", "special": true}, {"id": 3, "content": "[SEP]", "special": true}],
 "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
 "pre_tokenizer": {"type": "BertPreTokenizer"},
 "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
 "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
 "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
  "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "hello": 4, "world": 5, "##s": 6, "!": 7, "cafe": 8}}
}`

func TestHFWordPiece(t *testing.T) {
	tk, err := ParseHF([]byte(wordPieceJSON))
	if err != nil {
		t.Fatal(err)
	}
	wp := tk
	got, err := wp.EncodeWith("Hello Worlds! Café", EncodeOptions{AddSpecialTokens: true})
	if want := []int{2, 4, 5, 6, 7, 8, 3}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Encode = %v, %v; want %v", got, err, want)
	}
	if s, _ := wp.Decode(got); s != "[CLS] hello worlds! cafe [SEP]" {
		t.Errorf("Decode = %q", s)
	}
}

func TestParseHFErrors(t *testing.T) {
	base := "testdata/llama-bpe/tokenizer.json"
	model := func(m map[string]any) map[string]any { return m["model"].(map[string]any) }
	cases := []struct {
		name string
		data []byte
		msg  string
	}{
		{"invalid json", []byte(`{"model": {`), "invalid JSON"},
		{"no model", []byte(`{}`), "no model"},
		{"no vocab", []byte(`{"model": {"type": "BPE"}}`), "no vocab"},
		{"no type", []byte(`{"model": {"vocab": {"a": 0}}}`), "no type"},
		{"unigram vocab object", []byte(`{"model": {"type": "Unigram", "vocab": {"a": 0}}}`), "Unigram"},
		{"wordlevel model", []byte(`{"model": {"type": "Nope", "vocab": {"a": 0}}}`), "unsupported model type"},
		{"duplicate vocab key", []byte(`{"model": {"type": "BPE", "vocab": {"a": 0, "a": 1}}}`), "duplicate token"},
		{"unknown merge", editJSON(t, base, func(m map[string]any) {
			model(m)["merges"] = []any{"▁ zz"}
		}), `"zz" is not in the vocab`},
		{"bad merge item", editJSON(t, base, func(m map[string]any) { model(m)["merges"] = []any{1} }), "merge 1"},
		{"bad merge string", editJSON(t, base, func(m map[string]any) { model(m)["merges"] = []any{"ab"} }), "merge 1"},
		{"added id mismatch", editJSON(t, base, func(m map[string]any) {
			m["added_tokens"] = []any{map[string]any{"id": 5, "content": "<s>", "special": true}}
		}), "which the vocab gives"},
		{"added id out of range", editJSON(t, base, func(m map[string]any) {
			m["added_tokens"] = []any{map[string]any{"id": 1 << 30, "content": "<x>", "special": true}}
		}), "out of range"},
		{"added duplicate of vocab", editJSON(t, base, func(m map[string]any) {
			m["added_tokens"] = []any{map[string]any{"id": 284, "content": "▁the", "special": true}}
		}), "duplicate token"},
		{"unk not in vocab", editJSON(t, base, func(m map[string]any) { model(m)["unk_token"] = "<nope>" }), "unk_token"},
		{"unknown pre-tokenizer", editJSON(t, base, func(m map[string]any) {
			m["pre_tokenizer"] = map[string]any{"type": "Nope"}
		}), `Nope`},
		{"unknown normalizer", editJSON(t, base, func(m map[string]any) { m["normalizer"] = map[string]any{"type": "Nope"} }), `Nope`},
		{"unknown decoder", editJSON(t, base, func(m map[string]any) { m["decoder"] = map[string]any{"type": "Nope"} }), `decoder "Nope"`},
		{"unknown post-processor", editJSON(t, base, func(m map[string]any) { m["post_processor"] = map[string]any{"type": "Nope"} }), `post_processor "Nope"`},
		{"unknown model field", editJSON(t, base, func(m map[string]any) { model(m)["new_setting"] = true }), `new_setting`},
		{"unknown top-level field", editJSON(t, base, func(m map[string]any) { m["new_stage"] = nil }), `new_stage`},
		{"truncation", editJSON(t, base, func(m map[string]any) { m["truncation"] = map[string]any{"max_length": 8} }), `truncation`},
		{"template names a missing special", editJSON(t, base, func(m map[string]any) {
			m["post_processor"] = map[string]any{"type": "TemplateProcessing", "single": []any{map[string]any{"SpecialToken": map[string]any{"id": "<x>", "type_id": 0}}}, "pair": []any{}, "special_tokens": map[string]any{}}
		}), `"<x>"`},
		{"template id out of range", editJSON(t, base, func(m map[string]any) {
			m["post_processor"] = map[string]any{"type": "TemplateProcessing", "single": []any{map[string]any{"SpecialToken": map[string]any{"id": "<x>", "type_id": 0}}}, "pair": []any{}, "special_tokens": map[string]any{"<x>": map[string]any{"id": "<x>", "ids": []any{99999}, "tokens": []any{"<x>"}}}}
		}), `out of range`},
		{"dropout", editJSON(t, base, func(m map[string]any) { model(m)["dropout"] = 0.1 }), "dropout"},
	}
	for _, c := range cases {
		_, err := ParseHF(c.data)
		if err == nil || !strings.HasPrefix(err.Error(), "tokenizer: ") || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: err = %v, want one containing %q", c.name, err, c.msg)
		}
	}
}
