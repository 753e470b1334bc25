package tokenizer

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func mustNormalizer(t testing.TB, js string) normalizer {
	t.Helper()
	n, err := parseNormalizer(json.RawMessage(js), "test.json")
	if err != nil {
		t.Fatalf("parseNormalizer(%s): %v", js, err)
	}
	if n == nil {
		t.Fatalf("parseNormalizer(%s) = nil", js)
	}
	return n
}

func TestParseNormalizerNull(t *testing.T) {
	for _, js := range []string{"", "null", "  null \n"} {
		n, err := parseNormalizer(json.RawMessage(js), "test.json")
		if n != nil || err != nil {
			t.Errorf("parseNormalizer(%q) = %v, %v; want nil, nil", js, n, err)
		}
	}
}

// The expectations are the Rust library's: its tests where it has them
// (strip.rs, unicode.rs, bert.rs, byte_level.rs), else the rules of the
// code it runs (NormalizedString::lowercase is char::to_lowercase per
// character, lrstrip is char::is_whitespace).
func TestNormalizers(t *testing.T) {
	cases := []struct {
		json, in, want string
	}{
		{`{"type":"NFKC"}`, "\ufb01", "fi"},
		{`{"type":"NFKD"}`, "\ufb01", "fi"},
		{`{"type":"NFC"}`, "e\u0301", "é"},
		{`{"type":"NFD"}`, "é", "e\u0301"},
		// Lowercase: full mapping, no context.
		{`{"type":"Lowercase"}`, "HELLO Wörld", "hello wörld"},
		{`{"type":"Lowercase"}`, "İstanbul", "i\u0307stanbul"},
		{`{"type":"Lowercase"}`, "ΟΔΟΣ ΣΑΣ", "οδοσ σασ"}, // no final ς
		{`{"type":"Lowercase"}`, "\u01c5 \u01c8 \u1e9e \u212a \u2126", "\u01c6 \u01c9 ß k ω"},
		{`{"type":"Lowercase"}`, "ﬃ ß", "ﬃ ß"},
		// Strip: White_Space, including NEL and NBSP, not U+FEFF or ZWSP.
		{`{"type":"Strip","strip_left":true,"strip_right":true}`, " \t\u00a0hé llo\u3000\u0085\n", "hé llo"},
		{`{"type":"Strip","strip_left":false,"strip_right":true}`, "  你好asa \n", "  你好asa"},
		{`{"type":"Strip","strip_left":true,"strip_right":false}`, "  x  ", "x  "},
		{`{"type":"Strip","strip_left":true,"strip_right":true}`, "\ufeffx\u200b", "\ufeffx\u200b"},
		{`{"type":"Strip","strip_left":true,"strip_right":true}`, " \t ", ""},
		// StripAccents drops all marks (Mn, Mc, Me) and does not decompose.
		{`{"type":"StripAccents"}`, "Me llamo\u0301 é", "Me llamo é"},
		{`{"type":"StripAccents"}`, "e\u0304\u0304\u0304o", "eo"},
		{`{"type":"StripAccents"}`, "क\u093f\u20dd", "क"}, // Mc and Me too
		{`{"type":"Sequence","normalizers":[{"type":"NFKD"},{"type":"StripAccents"}]}`, "ำน\u0e49ำ3ลำ", "านา3ลา"},
		{`{"type":"Sequence","normalizers":[{"type":"NFKD"},{"type":"StripAccents"},{"type":"Lowercase"}]}`,
			"Cụ thể, bạn sẽ tham gia một nhóm…", "cu the, ban se tham gia mot nhom..."},
		{`{"type":"Sequence","normalizers":[]}`, "As Is", "As Is"},
		{`{"type":"Replace","pattern":{"String":"''"},"content":"\""}`, "This is a ''test''", "This is a \"test\""},
		{`{"type":"Replace","pattern":{"String":" "},"content":"▁"}`, "a b  c", "a▁b▁▁c"},
		{`{"type":"Replace","pattern":{"String":"aa"},"content":"b"}`, "aaa", "ba"},
		{`{"type":"Replace","pattern":{"Regex":" {2,}"},"content":"▁"}`, "a  b c   d", "a▁b c▁d"},
		{`{"type":"Replace","pattern":{"Regex":"[ab]+|c"},"content":"-"}`, "xabbaycz", "x-y-z"},
		{`{"type":"Prepend","prepend":"▁"}`, "Hello", "▁Hello"},
		{`{"type":"Prepend","prepend":"▁"}`, "", ""},
		{`{"type":"Nmt"}`, "a\u0001b\tc\u200bd\u2581e\u0085f", "ab c d e\u0085f"},
		{`{"type":"ByteLevel"}`, "Hello 我今天能为你做什么", "HelloĠæĪĳä»Ĭå¤©èĥ½ä¸ºä½łåģļä»Ģä¹Ī"},
		// BertNormalizer.
		{`{"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":true,"strip_accents":null,"lowercase":true}`,
			"Héllo\u0000\u00ad\tWörld\ufffd\u2003你好!", "hello world  你  好 !"},
		{`{"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":false,"strip_accents":false,"lowercase":true}`,
			"Héllo İ", "héllo i\u0307"},
		{`{"type":"BertNormalizer","clean_text":false,"handle_chinese_chars":false,"strip_accents":true,"lowercase":false}`,
			"Tiếng Việt ά क\u093f", "Tieng Viet α क\u093f"}, // Mn only: Mc kept
		{`{"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":true,"strip_accents":null,"lowercase":false}`,
			"Café\r\n㐀\U00020000", "Café   㐀  \U00020000 "},
		{`{"type":"BertNormalizer"}`, "ÀB", "ab"}, // Rust's defaults
	}
	for _, c := range cases {
		n := mustNormalizer(t, c.json)
		if got := n.normalize(c.in); got != c.want {
			t.Errorf("%s\n normalize(%q) = %q, want %q", c.json, c.in, got, c.want)
		}
	}
}

// The four forms against Python 3.11's unicodedata (Unicode 14.0; Go's
// tables are 15.0, which adds no decomposition these strings use).
func TestUnicodeForms(t *testing.T) {
	cases := []struct{ in, nfc, nfd, nfkc, nfkd string }{
		{"\ud55c\uad6d\uc5b4", "\ud55c\uad6d\uc5b4", "\u1112\u1161\u11ab\u1100\u116e\u11a8\u110b\u1165", "\ud55c\uad6d\uc5b4", "\u1112\u1161\u11ab\u1100\u116e\u11a8\u110b\u1165"},
		{"\u1100\u1161\u11a8", "\uac01", "\u1100\u1161\u11a8", "\uac01", "\u1100\u1161\u11a8"},
		{"Ti\u1ebfng Vi\u1ec7t", "Ti\u1ebfng Vi\u1ec7t", "Tie\u0302\u0301ng Vie\u0323\u0302t", "Ti\u1ebfng Vi\u1ec7t", "Tie\u0302\u0301ng Vie\u0323\u0302t"},
		{"\u03ac \u03ad \u03ae \u03af \u03cc \u03cd \u03ce \u0390", "\u03ac \u03ad \u03ae \u03af \u03cc \u03cd \u03ce \u0390", "\u03b1\u0301 \u03b5\u0301 \u03b7\u0301 \u03b9\u0301 \u03bf\u0301 \u03c5\u0301 \u03c9\u0301 \u03b9\u0308\u0301", "\u03ac \u03ad \u03ae \u03af \u03cc \u03cd \u03ce \u0390", "\u03b1\u0301 \u03b5\u0301 \u03b7\u0301 \u03b9\u0301 \u03bf\u0301 \u03c5\u0301 \u03c9\u0301 \u03b9\u0308\u0301"},
		{"\ufb01\ufb02 \ufb03", "\ufb01\ufb02 \ufb03", "\ufb01\ufb02 \ufb03", "fifl ffi", "fifl ffi"},
		{"\uff21\uff22\uff23\uff11\uff12\uff13", "\uff21\uff22\uff23\uff11\uff12\uff13", "\uff21\uff22\uff23\uff11\uff12\uff13", "ABC123", "ABC123"},
		{"\u212b \u00c5 A\u030a", "\u00c5 \u00c5 \u00c5", "A\u030a A\u030a A\u030a", "\u00c5 \u00c5 \u00c5", "A\u030a A\u030a A\u030a"},
		{"\u2460\u00b2\u2082\u0663", "\u2460\u00b2\u2082\u0663", "\u2460\u00b2\u2082\u0663", "122\u0663", "122\u0663"},
		{"e\u0301\u0323 e\u0323\u0301", "\u1eb9\u0301 \u1eb9\u0301", "e\u0323\u0301 e\u0323\u0301", "\u1eb9\u0301 \u1eb9\u0301", "e\u0323\u0301 e\u0323\u0301"},
		{"\u1e9b\u0323", "\u1e9b\u0323", "\u017f\u0323\u0307", "\u1e69", "s\u0323\u0307"},
		{"\u00bd \u2153", "\u00bd \u2153", "\u00bd \u2153", "1\u20442 1\u20443", "1\u20442 1\u20443"},
		{"\u3000\u00a0x", "\u3000\u00a0x", "\u3000\u00a0x", "  x", "  x"},
		{"\u00c5\u0301", "\u01fa", "A\u030a\u0301", "\u01fa", "A\u030a\u0301"},
		{"\uac00\u11a8", "\uac01", "\u1100\u1161\u11a8", "\uac01", "\u1100\u1161\u11a8"},
	}
	forms := []string{"NFC", "NFD", "NFKC", "NFKD"}
	var ns []normalizer
	for _, f := range forms {
		ns = append(ns, mustNormalizer(t, `{"type":"`+f+`"}`))
	}
	for _, c := range cases {
		for i, want := range []string{c.nfc, c.nfd, c.nfkc, c.nfkd} {
			if got := ns[i].normalize(c.in); got != want {
				t.Errorf("%s(%+q) = %+q, want %+q", forms[i], c.in, got, want)
			}
		}
	}
}

// What each normalizer does with bytes that are not valid UTF-8, as the
// documentation says.
func TestNormalizersInvalidUTF8(t *testing.T) {
	cases := []struct {
		json, in, want string
	}{
		{`{"type":"NFC"}`, "e\xff\u0301", "e\xff\u0301"},
		{`{"type":"NFKC"}`, "\xc3\ufb01", "\xc3fi"},
		{`{"type":"Lowercase"}`, "A\x80B", "a\x80b"},
		{`{"type":"Strip","strip_left":true,"strip_right":true}`, " \xff ", "\xff"},
		{`{"type":"StripAccents"}`, "\xe2\x82\u0301", "\xe2\x82"},
		{`{"type":"Nmt"}`, "\x01\xfe", "\xfe"},
		{`{"type":"ByteLevel"}`, "\xff ", "ÿĠ"},
		{`{"type":"Replace","pattern":{"String":"é"},"content":"e"}`, "\xc3é\xa9", "\xc3e\xa9"},
		{`{"type":"Prepend","prepend":"▁"}`, "\x80", "▁\x80"},
		{`{"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":false,"strip_accents":false,"lowercase":false}`, "a\xffb", "ab"},
		{`{"type":"BertNormalizer","clean_text":false,"handle_chinese_chars":true,"strip_accents":true,"lowercase":true}`, "A\xff你", "a\xff 你 "},
	}
	for _, c := range cases {
		n := mustNormalizer(t, c.json)
		if got := n.normalize(c.in); got != c.want {
			t.Errorf("%s\n normalize(%q) = %q, want %q", c.json, c.in, got, c.want)
		}
	}
}

func TestParseNormalizerErrors(t *testing.T) {
	cases := []struct{ json, want string }{
		{`[]`, "not a JSON object"},
		{`{"type":"NFC"`, "invalid JSON"},
		{`{}`, `no field "type"`},
		{`{"type":7}`, `field "type" is not a string`},
		{`{"type":"Fancy"}`, `unsupported normalizer type "Fancy"`},
		{`{"type":"NFC","form":"x"}`, `NFC: unknown field "form"`},
		{`{"type":"NFC","type":"NFD"}`, `repeated field "type"`},
		{`{"type":"Lowercase"} x`, "trailing data"},
		{`{"type":"Strip","strip_left":true}`, `no field "strip_right"`},
		{`{"type":"Strip","strip_left":1,"strip_right":true}`, `"strip_left" is not true or false`},
		{`{"type":"Strip","strip_left":null,"strip_right":true}`, `"strip_left" is not true or false`},
		{`{"type":"Replace","pattern":{"String":"a"}}`, `no field "content"`},
		{`{"type":"Replace","content":"b"}`, `no field "pattern"`},
		{`{"type":"Replace","pattern":{"String":""},"content":"b"}`, "the String is empty"},
		{`{"type":"Replace","pattern":{"Glob":"*"},"content":"b"}`, `unknown kind "Glob"`},
		{`{"type":"Replace","pattern":{"String":"a","Regex":"b"},"content":"b"}`, `{"String": ...} or {"Regex": ...}`},
		{`{"type":"Replace","pattern":{"Regex":"\\s+"},"content":" "}`, `Regex "\\s+": escape \s is not supported`},
		{`{"type":"Replace","pattern":{"Regex":"(?i)a"},"content":" "}`, "flags or names"},
		{`{"type":"Replace","pattern":{"Regex":"^a"},"content":" "}`, "not supported"},
		{`{"type":"Replace","pattern":{"Regex":"a*"},"content":" "}`, "empty string"},
		{`{"type":"Replace","pattern":{"Regex":"a("},"content":" "}`, "missing closing )"},
		{`{"type":"Replace","pattern":{"Regex":"(l)(e)"},"content":"$1 $2"}`, "group references"},
		{`{"type":"Prepend"}`, `no field "prepend"`},
		{`{"type":"Sequence"}`, `no field "normalizers"`},
		{`{"type":"Sequence","normalizers":{}}`, `"normalizers" is not a list`},
		{`{"type":"Sequence","normalizers":[{"type":"NFC"},{"type":"Oops"}]}`, `normalizer.normalizers[1]: unsupported normalizer type "Oops"`},
		{`{"type":"BertNormalizer","lowercase":"yes"}`, `"lowercase" is not true or false`},
		{`{"type":"BertNormalizer","strip_accent":true}`, `unknown field "strip_accent"`},
		{`{"type":"Precompiled"}`, `no field "precompiled_charsmap"`},
		{`{"type":"Precompiled","precompiled_charsmap":null}`, "is not a string"},
		{`{"type":"Precompiled","precompiled_charsmap":"AAAA"}`, "shorter than the 4-byte trie size"},
		{`{"type":"Precompiled","precompiled_charsmap":"@@@@"}`, "invalid base64"},
		{`{"type":"Precompiled","precompiled_charsmap":"CAAAAAAAAAA="}`, "exceeds the 4 bytes"},
	}
	for _, c := range cases {
		_, err := parseNormalizer(json.RawMessage(c.json), "x.json")
		if err == nil {
			t.Errorf("%s: no error", c.json)
			continue
		}
		if !strings.HasPrefix(err.Error(), "tokenizer: x.json: normalizer") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q, want one containing %q", c.json, err, c.want)
		}
	}
	deep := strings.Repeat(`{"type":"Sequence","normalizers":[`, 40) + strings.Repeat("]}", 40)
	if _, err := parseNormalizer(json.RawMessage(deep), "x.json"); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("deep Sequence: %v", err)
	}
}

func FuzzParseNormalizer(f *testing.F) {
	for _, s := range []string{
		`{"type":"NFKC"}`, `{"type":"Lowercase"}`, `{"type":"StripAccents"}`, `{"type":"Nmt"}`,
		`{"type":"Strip","strip_left":true,"strip_right":false}`,
		`{"type":"Replace","pattern":{"Regex":" {2,}"},"content":"▁"}`,
		`{"type":"Replace","pattern":{"String":"ab"},"content":""}`,
		`{"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":true,"strip_accents":null,"lowercase":true}`,
		`{"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"▁"},{"type":"ByteLevel"}]}`,
		`{"type":"Precompiled","precompiled_charsmap":"` + tinyCharsmapBase64 + `"}`,
	} {
		f.Add(s, "Héllo  WÖRLD ﬁ 你好\u0301\xff")
	}
	f.Fuzz(func(t *testing.T, js, text string) {
		n, err := parseNormalizer(json.RawMessage(js), "f.json")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "tokenizer: f.json: ") {
				t.Fatalf("error without prefix: %v", err)
			}
			return
		}
		if n == nil {
			return
		}
		out := n.normalize(text)
		if utf8.ValidString(text) && !utf8.ValidString(out) {
			t.Fatalf("normalize(%q) = %q is not valid UTF-8", text, out)
		}
	})
}
