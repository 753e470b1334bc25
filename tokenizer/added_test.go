package tokenizer

import (
	"reflect"
	"testing"
)

// spans renders split's result as (text, token id or -1) pairs.
func spans(m *addedMatcher, s string, skip func(addedToken) bool) [][2]any {
	var out [][2]any
	for _, sp := range m.split(nil, s, skip) {
		id := -1
		if sp.tok >= 0 {
			id = m.tokens[sp.tok].id
		}
		out = append(out, [2]any{s[sp.lo:sp.hi], id})
	}
	return out
}

func content(t addedToken) string { return t.content }

// The cases are those of Hugging Face's added_vocabulary.rs tests, on
// already lower-cased text (the Lowercase normalizer runs in between
// there).
func TestAddedMatcher(t *testing.T) {
	cases := []struct {
		name   string
		tokens []addedToken
		text   string
		want   [][2]any
	}{
		{"plain and special",
			[]addedToken{{content: "my", id: 0}, {content: "name", id: 1}, {content: "[CLS]", id: 2, special: true}, {content: "[SEP]", id: 3, special: true}},
			"[CLS] My name is Anthony [SEP]",
			[][2]any{{"[CLS]", 2}, {" My ", -1}, {"name", 1}, {" is Anthony ", -1}, {"[SEP]", 3}}},
		{"lstrip rstrip single_word",
			[]addedToken{{content: "my", id: 0, lstrip: true, rstrip: true}, {content: "name", id: 1}, {content: "ony", id: 2, singleWord: true},
				{content: "[CLS]", id: 3, special: true}, {content: "[SEP]", id: 4, special: true}},
			"[CLS] my name is anthony [SEP]",
			[][2]any{{"[CLS]", 3}, {" my ", 0}, {"name", 1}, {" is anthony ", -1}, {"[SEP]", 4}}},
		{"single_word positions",
			[]addedToken{{content: "<mask>", id: 0, singleWord: true}},
			"<mask> my name <mask> a<mask> <mask>ony <mask>",
			[][2]any{{"<mask>", 0}, {" my name ", -1}, {"<mask>", 0}, {" a<mask> <mask>ony ", -1}, {"<mask>", 0}}},
		{"single_word unicode",
			[]addedToken{{content: "<mask>", id: 0, singleWord: true}},
			"<mask>, <mask>- ◌̰<mask>",
			[][2]any{{"<mask>", 0}, {", ", -1}, {"<mask>", 0}, {"- ◌̰<mask>", -1}}},
		{"lstrip unicode space",
			[]addedToken{{content: "<mask>", id: 0, lstrip: true, rstrip: true, singleWord: true}},
			"hi <mask> there\t<mask>\t<mask>\u2000",
			[][2]any{{"hi", -1}, {" <mask> ", 0}, {"there", -1}, {"\t<mask>\t", 0}, {"<mask>\u2000", 0}}},
		{"leftmost longest",
			[]addedToken{{content: "<|a", id: 0}, {content: "<|a|>", id: 1}, {content: "|>", id: 2}},
			"x<|a|><|a|>",
			[][2]any{{"x", -1}, {"<|a|>", 1}, {"<|a|>", 1}}},
		{"prefix only", []addedToken{{content: "<|im_start|>", id: 0}}, "<|im_start", [][2]any{{"<|im_start", -1}}},
		{"empty text", []addedToken{{content: "<s>", id: 0}}, "", nil},
	}
	for _, c := range cases {
		m := newAddedMatcher(c.tokens, content)
		if got := spans(m, c.text, nil); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got  %q\n want %q", c.name, got, c.want)
		}
	}
	// Special tokens left as text when asked.
	m := newAddedMatcher([]addedToken{{content: "<s>", id: 0, special: true}, {content: "<x>", id: 1}}, content)
	got := spans(m, "<s>a<x>", func(t addedToken) bool { return t.special })
	if want := [][2]any{{"<s>a", -1}, {"<x>", 1}}; !reflect.DeepEqual(got, want) {
		t.Errorf("skip special: %q, want %q", got, want)
	}
}

func TestDecoders(t *testing.T) {
	cases := []struct {
		name string
		json string
		toks []string
		want string
	}{
		{"llama", `{"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},{"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]}`,
			[]string{"▁Hello", "▁", "<0xE2>", "<0x82>", "<0xAC>", "!"}, "Hello €!"},
		{"byte level", `{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true}`,
			[]string{"Hello", "Ġworld", "<|endoftext|>", "ĊĠ"}, "Hello world<|endoftext|>\n "},
		{"metaspace first token", `{"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true}`,
			[]string{"▁▁Hey", "▁friend"}, "Hey friend"},
		{"metaspace never", `{"type":"Metaspace","replacement":"▁","prepend_scheme":"never","split":true}`,
			[]string{"▁Hey", "▁friend"}, " Hey friend"},
		{"wordpiece", `{"type":"WordPiece","prefix":"##","cleanup":true}`,
			[]string{"[CLS]", "hello", "##s", "!", "do", "n't"}, "[CLS] hellos! don't"},
		{"bpe suffix", `{"type":"BPEDecoder","suffix":"</w>"}`, []string{"hel", "lo</w>", "you</w>"}, "hello you"},
		{"strip both", `{"type":"Strip","content":"x","start":2,"stop":1}`, []string{"xxxaxx"}, "xax"},
	}
	for _, c := range cases {
		d, err := parseDecoder([]byte(c.json), "test")
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		p := &Pipeline{dec: d}
		if got := p.decodeTokens(c.toks); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	for _, bad := range []string{`{"type":"CTC"}`, `{"type":"Replace","pattern":{"Regex":"a+"},"content":""}`, `{"type":"Strip","content":"ab","start":1}`,
		`{"type":"Metaspace","prepend_scheme":"sometimes"}`, `{"type":"ByteLevel","shiny":true}`, `{}`} {
		if _, err := parseDecoder([]byte(bad), "test"); err == nil {
			t.Errorf("parseDecoder(%s) accepted", bad)
		}
	}
}

func TestPostProcessors(t *testing.T) {
	cases := []struct {
		name       string
		json       string
		a, b       []int
		pair       bool
		ids, types []int
	}{
		{"template single", `{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],
			"pair":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"<s>","type_id":1}},{"Sequence":{"id":"B","type_id":1}}],
			"special_tokens":{"<s>":{"id":"<s>","ids":[1],"tokens":["<s>"]}}}`,
			[]int{5, 6}, nil, false, []int{1, 5, 6}, []int{0, 0, 0}},
		{"template pair", `{"type":"TemplateProcessing","single":[{"Sequence":{"id":"A","type_id":0}}],
			"pair":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"<s>","type_id":1}},{"Sequence":{"id":"B","type_id":1}}],
			"special_tokens":{"<s>":{"id":"<s>","ids":[1],"tokens":["<s>"]}}}`,
			[]int{5}, []int{7, 8}, true, []int{1, 5, 1, 7, 8}, []int{0, 0, 1, 1, 1}},
		{"bert", `{"type":"BertProcessing","sep":["[SEP]",3],"cls":["[CLS]",2]}`, []int{9}, []int{10}, true,
			[]int{2, 9, 3, 10, 3}, []int{0, 0, 0, 1, 1}},
		{"roberta", `{"type":"RobertaProcessing","sep":["</s>",2],"cls":["<s>",0],"trim_offsets":true,"add_prefix_space":false}`,
			[]int{9}, nil, false, []int{0, 9, 2}, []int{0, 0, 0}},
		{"sequence bytelevel then template", `{"type":"Sequence","processors":[{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":false,"use_regex":true},
			{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],"pair":[],"special_tokens":{"<s>":{"id":"<s>","ids":[1],"tokens":["<s>"]}}}]}`,
			[]int{5}, nil, false, []int{1, 5}, []int{0, 0}},
		{"bytelevel", `{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":false,"use_regex":true}`, []int{5, 6}, nil, false, []int{5, 6}, []int{0, 0}},
	}
	for _, c := range cases {
		p, err := parsePostProcessor([]byte(c.json), 20, "test")
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		ids, types := p.process(c.a, c.b, c.pair)
		if !reflect.DeepEqual(ids, c.ids) || !reflect.DeepEqual(types, c.types) {
			t.Errorf("%s: %v %v, want %v %v", c.name, ids, types, c.ids, c.types)
		}
	}
}
