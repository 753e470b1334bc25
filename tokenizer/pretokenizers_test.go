package tokenizer

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func mustPre(t testing.TB, cfg string) preTokenizer {
	t.Helper()
	p, err := parsePreTokenizer(json.RawMessage(cfg), "test.json")
	if err != nil {
		t.Fatalf("parse %s: %v", cfg, err)
	}
	if p == nil {
		t.Fatalf("parse %s: no pre-tokenizer", cfg)
	}
	return p
}

func splitCfg(pattern, behavior string, invert bool) string {
	b, _ := json.Marshal(map[string]any{"type": "Split", "pattern": json.RawMessage(pattern), "behavior": behavior, "invert": invert})
	return string(b)
}

// The expectations follow the Rust library's semantics, most of them its
// own unit tests (pre_tokenizers/*.rs, normalizer.rs), the others worked
// out by hand from NormalizedString::split and rust-onig's find_iter.
var preTokenizerCases = []struct {
	name  string
	cfg   string
	text  string
	first bool
	want  []string
}{
	// split.rs: \w+|[^\w\s]+ inverted, every behavior.
	{"split removed", splitCfg(`{"Regex": "\\w+|[^\\w\\s]+"}`, "Removed", true), "How are you doing?", true,
		[]string{"How", "are", "you", "doing", "?"}},
	{"split isolated", splitCfg(`{"Regex": "\\w+|[^\\w\\s]+"}`, "Isolated", true), "How are you doing?", true,
		[]string{"How", " ", "are", " ", "you", " ", "doing", "?"}},
	{"split merged previous", splitCfg(`{"Regex": "\\w+|[^\\w\\s]+"}`, "MergedWithPrevious", true), "How are you doing?", true,
		[]string{"How ", "are ", "you ", "doing", "?"}},
	{"split merged next", splitCfg(`{"Regex": "\\w+|[^\\w\\s]+"}`, "MergedWithNext", true), "How are you doing?", true,
		[]string{"How", " are", " you", " doing", "?"}},
	{"split contiguous", splitCfg(`{"Regex": "\\w+|[^\\w\\s]+"}`, "Contiguous", true), "How are you doing?", true,
		[]string{"How", " ", "are", " ", "you", " ", "doing?"}},
	{"split string space", splitCfg(`{"String": " "}`, "Removed", false), "Hey, man!", true, []string{"Hey,", "man!"}},
	{"split regex spaces", splitCfg(`{"Regex": "\\s+"}`, "Removed", false), "Hey,  man!", true, []string{"Hey,", "man!"}},
	{"split string inverted", splitCfg(`{"String": "Hello"}`, "Removed", true), "Hello Hello Hello", true,
		[]string{"Hello", "Hello", "Hello"}},
	// normalizer.rs: splitting on '-'.
	{"dash removed", splitCfg(`{"String": "-"}`, "Removed", false), "the-final--countdown", true,
		[]string{"the", "final", "countdown"}},
	{"dash isolated", splitCfg(`{"String": "-"}`, "Isolated", false), "the-final--countdown", true,
		[]string{"the", "-", "final", "-", "-", "countdown"}},
	{"dash merged previous", splitCfg(`{"String": "-"}`, "MergedWithPrevious", false), "the-final--countdown", true,
		[]string{"the-", "final-", "-", "countdown"}},
	{"dash merged next", splitCfg(`{"String": "-"}`, "MergedWithNext", false), "the-final--countdown", true,
		[]string{"the", "-final", "-", "-countdown"}},
	{"dash contiguous", splitCfg(`{"String": "-"}`, "Contiguous", false), "the-final--countdown", true,
		[]string{"the", "-", "final", "--", "countdown"}},
	{"dash contiguous inverted", splitCfg(`{"String": "-"}`, "Contiguous", true), "-a--b-", true,
		[]string{"-", "a", "--", "b", "-"}},
	{"leading match merged previous", splitCfg(`{"String": "-"}`, "MergedWithPrevious", false), "-a", true,
		[]string{"-", "a"}},
	{"trailing match merged next", splitCfg(`{"String": "-"}`, "MergedWithNext", false), "a-", true,
		[]string{"a", "-"}},
	// The empty String pattern matches at every character boundary.
	{"empty string isolated", splitCfg(`{"String": ""}`, "Isolated", false), "ab\xffé", true,
		[]string{"a", "b", "\xff", "é"}},
	{"empty string removed", splitCfg(`{"String": ""}`, "Removed", false), "abc", true, []string{"a", "b", "c"}},
	// Empty regex matches cut the text between them...
	{"empty matches cut", splitCfg(`{"Regex": "x*"}`, "Isolated", false), "ab", true, []string{"a", "b"}},
	{"a star", splitCfg(`{"Regex": "a*"}`, "Isolated", false), "baaab", true, []string{"b", "aaa", "b"}},
	{"a star removed", splitCfg(`{"Regex": "a*"}`, "Removed", false), "baaab", true, []string{"b", "b"}},
	// ...except the one found right after a non-empty match (at 2 here).
	{"empty after match skipped", splitCfg(`{"Regex": "a|(?=c)"}`, "Isolated", false), "abc", true, []string{"a", "bc"}},
	{"empty lookahead", splitCfg(`{"Regex": "(?=c)"}`, "Isolated", false), "abc", true, []string{"ab", "c"}},
	{"split empty text", splitCfg(`{"Regex": "x*"}`, "Isolated", false), "", true, nil},
	{"unicode regex", splitCfg(`{"Regex": "\\p{Han}+"}`, "Isolated", false), "ab漢字cd", true, []string{"ab", "漢字", "cd"}},

	// byte_level.rs.
	{"bytelevel", `{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true}`,
		"Hello my friend, how is your day going?", true,
		[]string{"Hello", "Ġmy", "Ġfriend", ",", "Ġhow", "Ġis", "Ġyour", "Ġday", "Ġgoing", "?"}},
	{"bytelevel no regex", `{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": false}`,
		"Hello my friend, how is your day going?", true,
		[]string{"ĠHelloĠmyĠfriend,ĠhowĠisĠyourĠdayĠgoing?"}},
	{"bytelevel prefix", `{"type": "ByteLevel", "add_prefix_space": true}`, "Hello my", true, []string{"ĠHello", "Ġmy"}},
	{"bytelevel prefix kept", `{"type": "ByteLevel", "add_prefix_space": true}`, " Hello my", true, []string{"ĠHello", "Ġmy"}},
	// add_prefix_space applies to every piece, first or not.
	{"bytelevel prefix not first", `{"type": "ByteLevel", "add_prefix_space": true}`, "Hello", false, []string{"ĠHello"}},
	{"bytelevel newline", `{"type": "ByteLevel", "add_prefix_space": false}`, "Hello there\nHello there", true,
		[]string{"Hello", "Ġthere", "Ċ", "Hello", "Ġthere"}},
	{"bytelevel spaces", `{"type": "ByteLevel", "add_prefix_space": false}`, "Hello there       dear", true,
		[]string{"Hello", "Ġthere", "ĠĠĠĠĠĠ", "Ġdear"}},
	{"bytelevel multibyte", `{"type": "ByteLevel", "add_prefix_space": false}`, "i⭢j", true, []string{"i", "âŃ¢", "j"}},
	{"bytelevel invalid", `{"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}`, "a\xff\x00", true,
		[]string{"aÿĀ"}},

	// metaspace.rs.
	{"metaspace", `{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true}`,
		"Hey friend!", true, []string{"▁Hey", "▁friend!"}},
	{"metaspace spaces", `{"type": "Metaspace", "replacement": "▁"}`, "Hey   friend!", true,
		[]string{"▁Hey", "▁", "▁", "▁friend!"}},
	{"metaspace legacy", `{"type": "Metaspace", "replacement": "▁", "add_prefix_space": true, "str_rep": "▁"}`,
		"a b", true, []string{"▁a", "▁b"}},
	{"metaspace never", `{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "never", "add_prefix_space": false}`,
		"a b", true, []string{"a", "▁b"}},
	{"metaspace no split", `{"type": "Metaspace", "replacement": "▁", "split": false}`, "a b", true, []string{"▁a▁b"}},
	{"metaspace leading space", `{"type": "Metaspace", "replacement": "▁"}`, " a", true, []string{"▁a"}},
	{"metaspace existing replacement", `{"type": "Metaspace", "replacement": "▁"}`, "a▁b", true, []string{"▁a", "▁b"}},
	{"metaspace other replacement", `{"type": "Metaspace", "replacement": "_"}`, "a b", true, []string{"_a", "_b"}},
	{"metaspace first", `{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first"}`, "Hey you", true,
		[]string{"▁Hey", "▁you"}},
	{"metaspace first not first", `{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first"}`, "Hey you", false,
		[]string{"Hey", "▁you"}},
	{"metaspace first sequence", `{"type": "Sequence", "pretokenizers": [` + splitCfg(`{"Regex": "<s>"}`, "Isolated", false) +
		`, {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false}]}`,
		"Hey my friend <s>how▁are you", true, []string{"▁Hey▁my▁friend▁", "<s>", "how▁are▁you"}},
	{"metaspace first then always", `{"type": "Sequence", "pretokenizers": [` + splitCfg(`{"Regex": "<s>"}`, "Isolated", false) +
		`, {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false}` +
		`, {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true}]}`,
		"Hey my friend <s>how▁are you", true,
		[]string{"▁Hey", "▁my", "▁friend", "▁", "▁<s>", "▁how", "▁are", "▁you"}},
	{"metaspace first prefix", `{"type": "Sequence", "pretokenizers": [` + splitCfg(`{"Regex": "(<s>)"}`, "Isolated", false) +
		`, {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false}]}`,
		" Hey <s>how <s>are <s> you", true,
		[]string{"▁Hey▁", "<s>", "how▁", "<s>", "are▁", "<s>", "▁you"}},
	// A word whose leading delimiter was removed does not start the text.
	{"metaspace first after removed", `{"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"},` +
		` {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first"}]}`,
		" hello world", true, []string{"hello", "world"}},
	{"metaspace first kept", `{"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"},` +
		` {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first"}]}`,
		"hello world", true, []string{"▁hello", "world"}},

	// digits.rs, punctuation.rs, bert.rs, whitespace.rs, delimiter.rs, sequence.rs.
	{"digits", `{"type": "Digits", "individual_digits": false}`, "Hey 123 friend!", true,
		[]string{"Hey ", "123", " friend!"}},
	{"digits individual", `{"type": "Digits", "individual_digits": true}`, "Hey 123 friend!", true,
		[]string{"Hey ", "1", "2", "3", " friend!"}},
	{"digits unicode", `{"type": "Digits", "individual_digits": false}`, "x٣٤½y", true, []string{"x", "٣٤½", "y"}},
	{"punctuation", `{"type": "Punctuation"}`, "Hey friend!     How are you?!?", true,
		[]string{"Hey friend", "!", "     How are you", "?", "!", "?"}},
	{"punctuation removed", `{"type": "Punctuation", "behavior": "Removed"}`, "Hey friend!     How are you?!?", true,
		[]string{"Hey friend", "     How are you"}},
	{"punctuation contiguous", `{"type": "Punctuation", "behavior": "Contiguous"}`, "Hey friend!     How are you?!?", true,
		[]string{"Hey friend", "!", "     How are you", "?!?"}},
	{"punctuation merged previous", `{"type": "Punctuation", "behavior": "MergedWithPrevious"}`, "Hey friend!     How are you?!?", true,
		[]string{"Hey friend!", "     How are you?", "!", "?"}},
	{"punctuation symbols", `{"type": "Punctuation"}`, "a+b$c«d»", true, []string{"a", "+", "b", "$", "c", "«", "d", "»"}},
	{"bert", `{"type": "BertPreTokenizer"}`, "Hey friend!     How are you?!?", true,
		[]string{"Hey", "friend", "!", "How", "are", "you", "?", "!", "?"}},
	{"bert unicode", `{"type": "BertPreTokenizer"}`, "野口里佳 Noguchi\u3000Rika、x", true,
		[]string{"野口里佳", "Noguchi", "Rika", "、", "x"}},
	{"whitespace", `{"type": "Whitespace"}`, "Hey man!", true, []string{"Hey", "man", "!"}},
	{"whitespace doing", `{"type": "Whitespace"}`, "How are you doing?", true, []string{"How", "are", "you", "doing", "?"}},
	{"whitespace newline", `{"type": "Whitespace"}`, "\n", true, nil},
	{"whitespace runs", `{"type": "Whitespace"}`, "ab!!c d_e—naïve\xff", true, []string{"ab", "!!", "c", "d_e", "—", "naïve", "\xff"}},
	{"whitespace split", `{"type": "WhitespaceSplit"}`, "Hey, man, Good?", true, []string{"Hey,", "man,", "Good?"}},
	{"whitespace split unicode", `{"type": "WhitespaceSplit"}`, "a\u00a0b\u2028c\u200bd", true, []string{"a", "b", "c\u200bd"}},
	{"char delimiter", `{"type": "CharDelimiterSplit", "delimiter": "-"}`, "the-final--countdown", true,
		[]string{"the", "final", "countdown"}},
	{"sequence", `{"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, {"type": "Punctuation"}]}`,
		"Hey friend!     How are you?!?", true, []string{"Hey", "friend", "!", "How", "are", "you", "?", "!", "?"}},
	{"sequence empty", `{"type": "Sequence", "pretokenizers": []}`, "a b", true, []string{"a b"}},

	// The real configurations.
	{"llama3", llama3Cfg, "Hello world, I'm 12345!\n", true,
		[]string{"Hello", "Ġworld", ",", "ĠI", "'m", "Ġ", "123", "45", "!Ċ"}},
	{"deepseek", deepseekCfg, "abc123中文def 45", true,
		[]string{"abc", "123", "ä¸Ńæĸĩ", "def", "Ġ", "45"}},
}

const llama3Cfg = `{"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}, "behavior": "Isolated", "invert": false}, {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]}`

const deepseekCfg = `{"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "\\p{N}{1,3}"}, "behavior": "Isolated", "invert": false}, {"type": "Split", "pattern": {"Regex": "[一-龥぀-ゟ゠-ヿ]+"}, "behavior": "Isolated", "invert": false}, {"type": "Split", "pattern": {"Regex": "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_` + "`" + `{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"}, "behavior": "Isolated", "invert": false}, {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]}`

func TestPreTokenizers(t *testing.T) {
	for _, c := range preTokenizerCases {
		t.Run(c.name, func(t *testing.T) {
			p := mustPre(t, c.cfg)
			got := p.preTokenize(nil, c.text, c.first)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("preTokenize(%q, first=%v)\n got %q\nwant %q", c.text, c.first, got, c.want)
			}
			// dst is appended to, not replaced.
			pre := []string{"x"}
			if got2 := p.preTokenize(pre, c.text, c.first); !reflect.DeepEqual(got2[1:], c.want) && len(c.want) > 0 || got2[0] != "x" {
				t.Errorf("preTokenize with dst: %q", got2)
			}
		})
	}
}

func TestParsePreTokenizerNull(t *testing.T) {
	for _, raw := range []string{"", "null", "  null ", "\n"} {
		p, err := parsePreTokenizer(json.RawMessage(raw), "x.json")
		if p != nil || err != nil {
			t.Errorf("parsePreTokenizer(%q) = %v, %v; want nil, nil", raw, p, err)
		}
	}
}

func TestParsePreTokenizerErrors(t *testing.T) {
	for _, c := range []struct{ cfg, want string }{
		{`[]`, "pre_tokenizer is not a JSON object"},
		{`{}`, "pre_tokenizer has no type"},
		{`{"type": 3}`, "type is not a string"},
		{`{"type": "Nope"}`, `pre_tokenizer: unknown type "Nope"`},
		{`{"type": "UnicodeScripts"}`, "pre_tokenizer UnicodeScripts is not supported"},
		{`{"type": "Whitespace", "extra": 1}`, `pre_tokenizer Whitespace: unknown field "extra"`},
		{splitCfg(`{"String": "a"}`, "X", false), `pre_tokenizer Split: unknown behavior "X"`},
		{`{"type": "Split", "pattern": {"String": "a"}, "behavior": "Isolated"}`, `pre_tokenizer Split: missing field "invert"`},
		{`{"type": "Split", "pattern": {"Str": "a"}, "behavior": "Isolated", "invert": false}`, `unknown pattern kind "Str"`},
		{`{"type": "Split", "pattern": {"String": "a", "Regex": "b"}, "behavior": "Isolated", "invert": false}`, `exactly one of`},
		{`{"type": "Split", "pattern": {"String": 1}, "behavior": "Isolated", "invert": false}`, `pattern String is not a string`},
		{`{"type": "Split", "pattern": "a", "behavior": "Isolated", "invert": false}`, `pattern is not`},
		{splitCfg(`{"Regex": "a("}`, "Isolated", false), `pre_tokenizer Split: regex "a(": missing ')'`},
		{splitCfg(`{"Regex": "^a"}`, "Isolated", false), `anchor '^' at offset 0 is not supported`},
		{splitCfg(`{"Regex": "\\p{Alpha}"}`, "Isolated", false), `property \p{Alpha} is not supported`},
		{`{"type": "Split", "pattern": {"String": "a"}, "behavior": "Isolated", "invert": "no"}`, `invert is not a boolean`},
		{`{"type": "ByteLevel"}`, `pre_tokenizer ByteLevel: missing field "add_prefix_space"`},
		{`{"type": "ByteLevel", "add_prefix_space": null}`, `add_prefix_space is not a boolean`},
		{`{"type": "Metaspace", "replacement": "ab"}`, `replacement "ab" is not one character`},
		{`{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "sometimes"}`, `unknown prepend_scheme "sometimes"`},
		{`{"type": "Metaspace", "replacement": "▁", "add_prefix_space": false}`, `add_prefix_space false contradicts prepend_scheme`},
		{`{"type": "Metaspace", "replacement": "▁", "add_prefix_space": false, "prepend_scheme": "first"}`, `contradicts`},
		{`{"type": "Digits"}`, `missing field "individual_digits"`},
		{`{"type": "Punctuation", "behavior": "Merged"}`, `unknown behavior "Merged"`},
		{`{"type": "CharDelimiterSplit", "delimiter": ""}`, `delimiter "" is not one character`},
		{`{"type": "Sequence", "pretokenizers": {}}`, `pretokenizers is not a list`},
		{`{"type": "Sequence", "pretokenizers": [{"type": "Whitespace"}, {"type": "Split", "pattern": {"String": "a"}, "behavior": "Y", "invert": false}]}`,
			`pre_tokenizer Sequence[1] Split: unknown behavior "Y"`},
	} {
		_, err := parsePreTokenizer(json.RawMessage(c.cfg), "cfg.json")
		if err == nil {
			t.Errorf("%s: no error", c.cfg)
			continue
		}
		if !strings.HasPrefix(err.Error(), "tokenizer: cfg.json: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q, want it to contain %q", c.cfg, err, c.want)
		}
	}
}

// ByteLevel's alphabet is a bijection, so the words of any byte string map
// back to its bytes.
func TestByteLevelRoundTrip(t *testing.T) {
	var all []byte
	for b := range 256 {
		all = append(all, byte(b))
	}
	p := mustPre(t, `{"type": "ByteLevel", "add_prefix_space": false}`)
	for _, s := range []string{string(all), "\xff\xfe a\x80b \xf0\x9f\x98", "日本\xe6\x97", "\x00\t\n\r "} {
		var back []byte
		for _, w := range p.preTokenize(nil, s, true) {
			for _, r := range w {
				b, ok := runeToByte[r]
				if !ok {
					t.Fatalf("%q: word %q has %q outside the alphabet", s, w, r)
				}
				back = append(back, byte(b))
			}
		}
		if string(back) != s {
			t.Errorf("round trip of %q gave %q", s, back)
		}
	}
}

// The pre_tokenizer of every real tokenizer.json in shared/ parses.
func TestRealPreTokenizers(t *testing.T) {
	for f, pre := range sharedPreTokenizers(t) {
		p, err := parsePreTokenizer(pre, f)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if p == nil {
			continue
		}
		text := "Hello, world! It's 2025: 你好世界 ½ «ok»\n\n  done  "
		words := p.preTokenize(nil, text, true)
		if len(words) == 0 {
			t.Errorf("%s: no words", f)
		}
	}
}

const qwenCfg = `{"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}, "behavior": "Isolated", "invert": false}, {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}]}`

const o200kCfg = `{"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}, "behavior": "Isolated", "invert": false}, {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]}`

const gpt2Cfg = `{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true}`

// fuzzConfigs are the pre-tokenizers FuzzPreTokenize runs; byteLevel
// marks those whose words map back to the text's bytes, join those whose
// words are pieces of the text that join back to it.
var fuzzConfigs = []struct {
	name            string
	cfg             string
	byteLevel, join bool
}{
	{"llama3", llama3Cfg, true, false},
	{"qwen2", qwenCfg, true, false},
	{"o200k", o200kCfg, true, false},
	{"deepseek", deepseekCfg, true, false},
	{"gpt2", gpt2Cfg, false, false},
	{"gemma", splitCfg(`{"String": " "}`, "MergedWithPrevious", false), false, true},
	{"metaspace", `{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true}`, false, false},
	{"bert", `{"type": "BertPreTokenizer"}`, false, false},
	{"whitespace", `{"type": "Whitespace"}`, false, false},
	{"punctuation", `{"type": "Punctuation", "behavior": "Contiguous"}`, false, true},
	{"digits", `{"type": "Digits", "individual_digits": true}`, false, true},
	{"generic", splitCfg(`{"Regex": "\\w+|[^\\w\\s]+"}`, "MergedWithNext", true), false, true},
}

// FuzzPreTokenize runs the real configurations and the other types on
// arbitrary text: no panic, no empty word, and the words keep the text.
func FuzzPreTokenize(f *testing.F) {
	for _, s := range []string{"Hello world, I'm 12345!\n", "abc123中文def 45", "\xff\xfe ▁x", "  a\t\tb\r\n"} {
		f.Add(s, true)
	}
	pres := make([]preTokenizer, len(fuzzConfigs))
	for i, c := range fuzzConfigs {
		p, err := parsePreTokenizer([]byte(c.cfg), c.name)
		if err != nil {
			f.Fatal(err)
		}
		pres[i] = p
	}
	f.Fuzz(func(t *testing.T, s string, first bool) {
		for i, c := range fuzzConfigs {
			words := pres[i].preTokenize(nil, s, first)
			for _, w := range words {
				if w == "" {
					t.Fatalf("%s on %q: empty word in %q", c.name, s, words)
				}
			}
			if c.join && strings.Join(words, "") != s {
				t.Fatalf("%s on %q: words %q", c.name, s, words)
			}
			if c.byteLevel {
				var back []byte
				for _, w := range words {
					for _, r := range w {
						back = append(back, byte(runeToByte[r]))
					}
				}
				if string(back) != s {
					t.Fatalf("%s on %q: words %q map back to %q", c.name, s, words, back)
				}
			}
		}
	})
}

// FuzzParsePreTokenizer parses arbitrary JSON: an error or a
// pre-tokenizer that then runs, never a panic.
func FuzzParsePreTokenizer(f *testing.F) {
	for _, c := range preTokenizerCases {
		f.Add([]byte(c.cfg))
	}
	for _, c := range fuzzConfigs {
		f.Add([]byte(c.cfg))
	}
	f.Add([]byte(`{"type": "Sequence", "pretokenizers": [null, 1, {"type": "Split"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parsePreTokenizer(data, "f.json")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "tokenizer: f.json: ") {
				t.Fatalf("error without prefix: %v", err)
			}
			return
		}
		if p == nil {
			return
		}
		for _, s := range []string{"", "ab c", "x\xff'S 12 中"} {
			for _, w := range p.preTokenize(nil, s, true) {
				if w == "" {
					t.Fatalf("empty word on %q", s)
				}
			}
		}
	})
}
