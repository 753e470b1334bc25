package tokenizer

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/attn-go/attn/internal/testmodels"
)

// gpt2Cases hold GPT-2's pre-tokenizer pieces and the standard GPT-2 ids
// (openai/gpt-2 encoder.py semantics) for strings that exercise each
// alternative of the pattern.
var gpt2Cases = []struct {
	text   string
	pieces []string
	ids    []int
}{
	{"Hello world", []string{"Hello", " world"}, []int{15496, 995}},
	{"I'm sure they'll've done it", []string{"I", "'m", " sure", " they", "'ll", "'ve", " done", " it"}, []int{40, 1101, 1654, 484, 1183, 1053, 1760, 340}},
	{"don't STOP 'S 're", []string{"don", "'t", " STOP", " '", "S", " '", "re"}, []int{9099, 470, 44934, 705, 50, 705, 260}},
	{"a   b", []string{"a", "  ", " b"}, []int{64, 220, 220, 275}},
	{"trailing  ", []string{"trailing", "  "}, []int{9535, 4386, 220, 220}},
	{"  leading", []string{" ", " leading"}, []int{220, 3756}},
	{"line1\nline2\n\n  x", []string{"line", "1", "\n", "line", "2", "\n\n ", " x"}, []int{1370, 16, 198, 1370, 17, 628, 220, 2124}},
	{"tabs\t\tend\t", []string{"tabs", "\t", "\t", "end", "\t"}, []int{8658, 82, 197, 197, 437, 197}},
	{"1234567 apples, 3.14", []string{"1234567", " apples", ",", " 3", ".", "14"}, []int{10163, 2231, 3134, 22514, 11, 513, 13, 1415}},
	{"...!!!??", []string{"...!!!??"}, []int{986, 10185, 3548}},
	{"x -- y ++ z", []string{"x", " --", " y", " ++", " z"}, []int{87, 1377, 331, 19969, 1976}},
	{"Привет мир", []string{"Привет", " мир"}, []int{140, 253, 21169, 18849, 38857, 16843, 20375, 12466, 120, 18849, 21169}},
	{"日本語のテキスト", []string{"日本語のテキスト"}, []int{33768, 98, 17312, 105, 45739, 252, 5641, 24336, 25084, 43302}},
	{"emoji 🙂👍🏽 ok", []string{"emoji", " 🙂👍🏽", " ok"}, []int{368, 31370, 32485, 41840, 235, 8582, 237, 121, 12876}},
	{"mixed123abc", []string{"mixed", "123", "abc"}, []int{76, 2966, 10163, 39305}},
	{" \u00a0nbsp", []string{" ", "\u00a0", "nbsp"}, []int{220, 1849, 77, 24145}},
	{"it's 'tis", []string{"it", "'s", " '", "tis"}, []int{270, 338, 705, 48010}},
	{"\u2028sep", []string{"\u2028", "sep"}, []int{447, 101, 325, 79}},
	{"a\r\nb", []string{"a", "\r", "\n", "b"}, []int{64, 201, 198, 65}},
	{"<|endoftext|> is special", []string{"<|", "endoftext", "|>", " is", " special"}, []int{27, 91, 437, 1659, 5239, 91, 29, 318, 2041}},
	{"  \n  ", []string{"  \n  "}, []int{220, 220, 198, 220, 220}},
	{"Ġ weird", []string{"Ġ", " weird"}, []int{128, 254, 7650}},
	{"ﬁne ½ Ⅻ", []string{"ﬁne", " ½", " Ⅻ"}, []int{171, 105, 223, 710, 25208, 2343, 227, 104}},
}

func TestSplitGPT2(t *testing.T) {
	extra := []struct {
		text   string
		pieces []string
	}{
		{"", nil},
		{" ", []string{" "}},
		{"'", []string{"'"}},
		{"'l", []string{"'", "l"}},
		{"'ll", []string{"'ll"}},
		{"?!'s", []string{"?!'", "s"}},
		{" \tb", []string{" ", "\t", "b"}},
		{"\n\nb", []string{"\n", "\n", "b"}},
		{"a\xffb", []string{"a", "\xff", "b"}},
		{"x \xff\xfe", []string{"x", " \xff\xfe"}},
		{"٣٤ ٥", []string{"٣٤", " ٥"}},
	}
	check := func(text string, want []string) {
		var got []string
		splitGPT2(text, func(s string) { got = append(got, s) })
		if !reflect.DeepEqual(got, want) {
			t.Errorf("split(%q) = %q, want %q", text, got, want)
		}
	}
	for _, c := range gpt2Cases {
		check(c.text, c.pieces)
	}
	for _, c := range extra {
		check(c.text, c.pieces)
	}
}

func TestByteTable(t *testing.T) {
	seen := map[rune]bool{}
	for b := range 256 {
		r := byteToRune[b]
		if seen[r] {
			t.Fatalf("rune %U used twice", r)
		}
		seen[r] = true
		if runeToByte[r] != b {
			t.Fatalf("runeToByte[%U] = %d, want %d", r, runeToByte[r], b)
		}
	}
	for b, r := range map[byte]rune{' ': 'Ġ', '\n': 'Ċ', 'A': 'A', 0: 0x100, 0x7F: 0x121, 0xAD: 0x143, 0xFF: 'ÿ'} {
		if byteToRune[b] != r {
			t.Errorf("byteToRune[%#x] = %U, want %U", b, byteToRune[b], r)
		}
	}
}

func loadSmallGPT2(t testing.TB) *ByteLevelBPE {
	t.Helper()
	tk, err := LoadGPT2("testdata/gpt2/vocab.json", "testdata/gpt2/merges.txt")
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestByteLevelBPESmall(t *testing.T) {
	tk := loadSmallGPT2(t)
	id := func(s string) int {
		var sb strings.Builder
		for i := 0; i < len(s); i++ {
			sb.WriteRune(byteToRune[s[i]])
		}
		return tk.ID(sb.String())
	}
	cases := []struct {
		text string
		want []int
	}{
		{"Hello world", []int{id("Hello"), id(" world")}},
		{" the theme", []int{id(" the"), id(" the"), id("m"), id("e")}},
		{"in  a", []int{id("in"), id(" "), id(" a")}},
		{" é", []int{id(" é")}},
		{"\n\n\n", []int{id("\n\n"), id("\n")}},
		{"<|endoftext|>", []int{id("<"), id("|"), id("e"), id("n"), id("d"), id("o"), id("f"), id("t"), id("e"), id("x"), id("t"), id("|"), id(">")}},
	}
	for _, c := range cases {
		got, err := tk.Encode(c.text)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("Encode(%q) = %v, %v; want %v", c.text, got, err, c.want)
		}
		if s, err := tk.Decode(got); err != nil || s != c.text {
			t.Errorf("Decode(Encode(%q)) = %q, %v", c.text, s, err)
		}
	}
	eot := tk.ID("<|endoftext|>")
	if eot < 0 || tk.BOS() != eot || tk.EOS() != eot {
		t.Fatalf("<|endoftext|> = %d, BOS %d, EOS %d", eot, tk.BOS(), tk.EOS())
	}
	got, err := tk.EncodeWith("a<|endoftext|>b", EncodeOptions{Special: true, AddEOS: true})
	if want := []int{id("a"), eot, id("b"), eot}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("EncodeWith(Special) = %v, %v; want %v", got, err, want)
	}
	if s, _ := tk.Decode(got); s != "a<|endoftext|>b<|endoftext|>" {
		t.Errorf("Decode = %q", s)
	}
	if _, err := tk.Decode([]int{tk.VocabSize()}); err == nil {
		t.Error("Decode of an id out of range: no error")
	}
}

// gpt2Reference is openai/gpt-2's bpe(): merge every occurrence of the
// lowest-ranked pair, left to right, until none is in the merges.
func gpt2Reference(tk *ByteLevelBPE, word string) []int {
	var syms []string
	for i := 0; i < len(word); i++ {
		syms = append(syms, string(byteToRune[word[i]]))
	}
	rank := func(a, b string) int {
		r, ok := tk.merges[idPair{int32(tk.vocab[a]), int32(tk.vocab[b])}]
		if !ok {
			return -1
		}
		return int(r.rank)
	}
	for len(syms) > 1 {
		best, ba, bb := -1, "", ""
		for i := 0; i+1 < len(syms); i++ {
			if r := rank(syms[i], syms[i+1]); r >= 0 && (best < 0 || r < best) {
				best, ba, bb = r, syms[i], syms[i+1]
			}
		}
		if best < 0 {
			break
		}
		var next []string
		for i := 0; i < len(syms); i++ {
			if i+1 < len(syms) && syms[i] == ba && syms[i+1] == bb {
				next = append(next, ba+bb)
				i++
			} else {
				next = append(next, syms[i])
			}
		}
		syms = next
	}
	ids := make([]int, len(syms))
	for i, s := range syms {
		ids[i] = tk.vocab[s]
	}
	return ids
}

func TestByteLevelBPEMatchesReference(t *testing.T) {
	tk := loadSmallGPT2(t)
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []string{"H", "e", "l", "o", " ", "w", "r", "d", "t", "h", "a", "i", "n", "é", "\n"}
	for range 2000 {
		var sb strings.Builder
		for range rng.IntN(20) {
			sb.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		text := sb.String()
		got, err := tk.Encode(text)
		if err != nil {
			t.Fatal(err)
		}
		var want []int
		splitGPT2(text, func(w string) { want = append(want, gpt2Reference(tk, w)...) })
		if !reflect.DeepEqual(got, want) && len(got)+len(want) > 0 {
			t.Fatalf("Encode(%q) = %v, reference %v", text, got, want)
		}
	}
}

func TestParseGPT2Errors(t *testing.T) {
	vocab := `{"a": 0, "b": 1, "ab": 2}`
	cases := []struct {
		name, vocab, merges, msg string
	}{
		{"invalid json", `{"a": 0,`, "", "invalid JSON"},
		{"not object", `[1]`, "", "not a JSON object"},
		{"duplicate token", `{"a": 0, "a": 1}`, "", "duplicate token"},
		{"duplicate id", `{"a": 0, "b": 0}`, "", "id 0 given to both"},
		{"id out of range", `{"a": 0, "b": 5}`, "", "out of range"},
		{"negative id", `{"a": -1}`, "", "non-negative"},
		{"fractional id", `{"a": 0.5}`, "", "non-negative"},
		{"string id", `{"a": "0"}`, "", "not a number"},
		{"trailing data", `{"a": 0} {}`, "", "trailing"},
		{"unknown merge token", vocab, "#version: 0.2\na c\n", `"c" is not in the vocab`},
		{"unknown merged token", `{"a": 0, "b": 1}`, "a b\n", `merged token "ab"`},
		{"bad merge line", vocab, "a b c\n", "line 1"},
		{"empty merge line", vocab, "a b\n\n", "line 2"},
		{"repeated merge", vocab, "a b\na b\n", "repeats"},
	}
	for _, c := range cases {
		_, err := ParseGPT2([]byte(c.vocab), []byte(c.merges))
		if err == nil || !strings.HasPrefix(err.Error(), "tokenizer: ") || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: err = %v, want one containing %q", c.name, err, c.msg)
		}
	}
	if _, err := ParseGPT2([]byte(vocab), []byte("#version: 0.2\r\na b\r\n")); err != nil {
		t.Errorf("CRLF merges: %v", err)
	}
	// A vocab without byte tokens loads but cannot encode what it lacks.
	tk, err := ParseGPT2([]byte(vocab), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tk.Encode("c"); err == nil {
		t.Error("byte without a token: no error")
	}
}

func realGPT2(t *testing.T) *ByteLevelBPE {
	t.Helper()
	dir := testmodels.Model(t, "tiny-gpt2") + "/"
	testmodels.Model(t, "tiny-gpt2", "vocab.json")
	tk, err := LoadGPT2(dir+"vocab.json", dir+"merges.txt")
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestGPT2RealVocab(t *testing.T) {
	tk := realGPT2(t)
	if tk.VocabSize() != 50257 || tk.EOS() != 50256 || tk.BOS() != 50256 {
		t.Fatalf("VocabSize %d, BOS %d, EOS %d", tk.VocabSize(), tk.BOS(), tk.EOS())
	}
	for _, c := range gpt2Cases {
		got, err := tk.Encode(c.text)
		if err != nil || !reflect.DeepEqual(got, c.ids) {
			t.Errorf("Encode(%q) = %v, %v; want %v", c.text, got, err, c.ids)
		}
		if s, err := tk.Decode(got); err != nil || s != c.text {
			t.Errorf("Decode(Encode(%q)) = %q, %v", c.text, s, err)
		}
	}
	for text, want := range map[string][]int{" the": {262}, "The": {464}, "<|endoftext|>": {50256}} {
		got, err := tk.EncodeWith(text, EncodeOptions{Special: true})
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Encode(%q) = %v, %v; want %v", text, got, err, want)
		}
	}
	// Every vocab entry that is a whole pre-token and carries no special
	// meaning encodes to its own id: BPE merges are built so that a vocab
	// word is reachable.
	checked := 0
	for id := 0; id < tk.VocabSize(); id += 97 {
		w := string(tk.bytes[id])
		if !utf8.ValidString(w) || w == "<|endoftext|>" {
			continue
		}
		var pieces []string
		splitGPT2(w, func(s string) { pieces = append(pieces, s) })
		if len(pieces) != 1 {
			continue
		}
		got, err := tk.Encode(w)
		if err != nil || !reflect.DeepEqual(got, []int{id}) {
			t.Errorf("Encode(%q) = %v, %v; want [%d]", w, got, err, id)
		}
		checked++
	}
	if checked < 300 {
		t.Errorf("only %d vocab entries checked", checked)
	}
}

func ExampleByteLevelBPE() {
	tk, err := LoadGPT2("testdata/gpt2/vocab.json", "testdata/gpt2/merges.txt")
	if err != nil {
		fmt.Println(err)
		return
	}
	ids, _ := tk.EncodeWith("Hello world<|endoftext|>", EncodeOptions{Special: true})
	for _, id := range ids {
		s, _ := tk.Token(id)
		fmt.Printf("%d %q\n", id, s)
	}
	text, _ := tk.Decode(ids)
	fmt.Printf("%q\n", text)
	// Output:
	// 263 "Hello"
	// 268 "Ġworld"
	// 274 "<|endoftext|>"
	// "Hello world<|endoftext|>"
}
