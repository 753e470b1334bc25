package tokenizer

import (
	"reflect"
	"strings"
	"testing"
)

func loadBERT(t testing.TB, opt WordPieceOptions) *WordPiece {
	t.Helper()
	tk, err := LoadWordPiece("testdata/bert/vocab.txt", opt)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestWordPieceEncode(t *testing.T) {
	tk := loadBERT(t, WordPieceOptions{})
	const unk = 1
	cases := []struct {
		text string
		want []int
	}{
		{"", nil},
		{"Hello, World!", []int{11, 6, 12, 5}},
		{"unaffable", []int{13, 14, 15}},
		{"Café NAÏVE", []int{16, 17}},
		{"你好", []int{24, 25}},
		{"a你b", []int{18, 24, 19}},
		{"playing", []int{31, 30}},
		{"abc", []int{18, 22, 23}},
		{"xyz", []int{unk}},
		{"abx", []int{unk}}, // a partial match is still one [UNK]
		{"a" + strings.Repeat("b", 99), append([]int{18}, repeatInt(22, 99)...)},
		{"a" + strings.Repeat("b", 100), []int{unk}},
		{"hel\x00lo \u200bthe\x7f", []int{11, 10}},
		{"the\tworld\n\u3000it", []int{10, 12, 27}},
		{"don't", []int{32, 8, 29}},
		{"[CLS] hello", []int{unk, unk, unk, 11}},
	}
	for _, c := range cases {
		got, err := tk.Encode(c.text)
		if err != nil || !reflect.DeepEqual(got, c.want) && len(got)+len(c.want) > 0 {
			t.Errorf("Encode(%q) = %v, %v; want %v", c.text, got, err, c.want)
		}
	}
	got, err := tk.EncodeWith("[CLS] hello[SEP]", EncodeOptions{Special: true})
	if want := []int{2, 11, 3}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("EncodeWith(Special) = %v, %v; want %v", got, err, want)
	}
	got, err = tk.EncodeWith("hello", EncodeOptions{AddBOS: true, AddEOS: true})
	if want := []int{2, 11, 3}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("EncodeWith(BOS, EOS) = %v, %v; want %v", got, err, want)
	}
	ids, types, err := tk.EncodePair("hello", "the world", EncodeOptions{})
	if err != nil || !reflect.DeepEqual(ids, []int{2, 11, 3, 10, 12, 3}) || !reflect.DeepEqual(types, []int{0, 0, 0, 1, 1, 1}) {
		t.Errorf("EncodePair = %v, %v, %v", ids, types, err)
	}

	cased := loadBERT(t, WordPieceOptions{Cased: true})
	got, _ = cased.Encode("Hello hello café")
	if want := []int{unk, 11, unk}; !reflect.DeepEqual(got, want) {
		t.Errorf("cased Encode = %v, want %v", got, want)
	}
}

func repeatInt(v, n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = v
	}
	return s
}

func TestWordPieceDecode(t *testing.T) {
	tk := loadBERT(t, WordPieceOptions{})
	cases := []struct {
		ids  []int
		want string
	}{
		{[]int{2, 11, 6, 12, 5, 3}, "[CLS] hello, world! [SEP]"},
		{[]int{13, 14, 15}, "unaffable"},
		{[]int{14}, "##aff"}, // a leading continuation keeps its prefix
		{[]int{32, 8, 29}, "don ' t"},
		{[]int{11, 7, 9}, "hello.?"},
	}
	for _, c := range cases {
		got, err := tk.Decode(c.ids)
		if err != nil || got != c.want {
			t.Errorf("Decode(%v) = %q, %v; want %q", c.ids, got, err, c.want)
		}
	}
	if _, err := tk.Decode([]int{99}); err == nil {
		t.Error("Decode of an id out of range: no error")
	}
}

func TestStripAccents(t *testing.T) {
	cases := []struct{ in, want string }{
		{"Ångström", "Angstrom"},
		{"ÀÉÎÕÜÇÑŸ", "AEIOUCNY"},
		{"ĀăĘėĞıĲŁŒšŽ", "AaEeGıĲŁŒsZ"}, // ı, Ĳ, Ł, Œ have no canonical decomposition
		{"e\u0301", "e"},
		{"한", "\u1112\u1161\u11ab"},
		{"ß Æ ø", "ß Æ ø"},
	}
	for _, c := range cases {
		if got := stripAccents(c.in); got != c.want {
			t.Errorf("stripAccents(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	// The base letters of these two blocks are all ASCII.
	for r, b := range accentBase {
		if r < 0xC0 || r > 0x17F || b > 0x7F {
			t.Errorf("accentBase[%U] = %U", r, b)
		}
	}
}

func TestParseWordPieceErrors(t *testing.T) {
	for name, c := range map[string]struct{ data, msg string }{
		"duplicate":    {"[UNK]\na\nb\na\n", "duplicate token"},
		"no unk":       {"a\nb\n", "no [UNK]"},
		"invalid utf8": {"[UNK]\n\xff\n", "UTF-8"},
	} {
		_, err := ParseWordPiece([]byte(c.data), WordPieceOptions{})
		if err == nil || !strings.HasPrefix(err.Error(), "tokenizer: ") || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: err = %v, want one containing %q", name, err, c.msg)
		}
	}
	tk, err := ParseWordPiece([]byte("[UNK]\r\na\r\n"), WordPieceOptions{})
	if err != nil || tk.ID("a") != 1 || tk.VocabSize() != 2 {
		t.Errorf("CRLF vocab: %v", err)
	}
}
