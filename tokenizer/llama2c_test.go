package tokenizer

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// buildBin writes a llama2.c tokenizer.bin.
func buildBin(maxLen int, pieces []string, scores []float32) []byte {
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, uint32(int32(maxLen)))
	for i, p := range pieces {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(scores[i]))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	return b
}

// smallLlamaVocab is a llama2.c vocab in the layout of the real ones:
// <unk>, BOS, EOS, the 256 byte tokens, then pieces scored so that some
// merges tie.
func smallLlamaVocab() ([]string, []float32) {
	pieces := []string{"<unk>", "\n<s>\n", "\n</s>\n"}
	for b := range 256 {
		pieces = append(pieces, fmt.Sprintf("<0x%02X>", b))
	}
	scores := make([]float32, len(pieces))
	extra := []struct {
		p string
		s float32
	}{
		{" ", -1}, {"a", -2}, {"b", -3}, {"c", -4}, {"e", -5}, {"h", -6}, {"t", -7},
		{"é", -8}, {"ab", -10}, {"bc", -10}, {"abc", -11}, {"th", -12}, {"he", -13},
		{"the", -14}, {" t", -15}, {" the", -16}, {"aa", -20}, {"cc", float32(-1e10)},
		{"ee", float32(math.NaN())}, {" a", -10},
	}
	for _, e := range extra {
		pieces = append(pieces, e.p)
		scores = append(scores, e.s)
	}
	return pieces, scores
}

func smallLlama(t testing.TB) *Llama2c {
	t.Helper()
	pieces, scores := smallLlamaVocab()
	tk, err := ParseLlama2c(buildBin(8, pieces, scores), len(pieces))
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// naiveRunC is run.c's encode() transcribed literally (rescanning all pairs
// after every merge), to check the heap-based Encode against.
func naiveRunC(t *Llama2c, text string) []int {
	var toks []int
	if text != "" {
		toks = append(toks, t.lookup[" "])
	}
	for i := 0; i < len(text); {
		j := i + 1
		for j < len(text) && text[j]&0xC0 == 0x80 && j-i < 4 {
			j++
		}
		if id, ok := t.lookup[text[i:j]]; ok {
			toks = append(toks, id)
		} else {
			for k := i; k < j; k++ {
				toks = append(toks, int(text[k])+3)
			}
		}
		i = j
	}
	for {
		best, bestID, bestIdx := float32(-1e10), -1, -1
		for i := 0; i+1 < len(toks); i++ {
			id, ok := t.lookup[t.pieces[toks[i]]+t.pieces[toks[i+1]]]
			if ok && t.scores[id] > best {
				best, bestID, bestIdx = t.scores[id], id, i
			}
		}
		if bestIdx < 0 {
			return toks
		}
		toks[bestIdx] = bestID
		toks = append(toks[:bestIdx+1], toks[bestIdx+2:]...)
	}
}

func TestLlama2cEncode(t *testing.T) {
	tk := smallLlama(t)
	id := tk.ID
	cases := []struct {
		text string
		want []int
	}{
		{"", nil},
		{"the", []int{id(" the")}},
		// "ab" and "bc" tie at -10: the left pair wins, then "abc" forms.
		{"xabc", []int{id(" "), 'x' + 3, id("abc")}},
		// " a" ties with "bc" too and is further left, so "ab" never forms.
		{"abc", []int{id(" a"), id("bc")}},
		{"bca", []int{id(" "), id("bc"), id("a")}},
		// " a" (-10) outranks "aa" (-20); the first of equal pairs merges.
		{"aaa", []int{id(" a"), id("aa")}},
		// A score of -1e10 or NaN never merges.
		{"cc", []int{id(" "), id("c"), id("c")}},
		{"ee", []int{id(" "), id("e"), id("e")}},
		// A multi-byte character in the vocab is one token; one that is not
		// falls back to its bytes (id = byte + 3).
		{"é", []int{id(" "), id("é")}},
		{"ü", []int{id(" "), 0xC3 + 3, 0xBC + 3}},
		// Stray continuation bytes group with up to three followers, as in
		// run.c; those groups are not in the vocab and fall back to bytes.
		{"\x80\x80\x80\x80\x80a", []int{id(" "), 0x83, 0x83, 0x83, 0x83, 0x83, id("a")}},
		{"x", []int{id(" "), 'x' + 3}},
	}
	for _, c := range cases {
		got, err := tk.Encode(c.text)
		if err != nil {
			t.Fatalf("Encode(%q): %v", c.text, err)
		}
		if !reflect.DeepEqual(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
			t.Errorf("Encode(%q) = %v, want %v", c.text, got, c.want)
		}
		if n := naiveRunC(tk, c.text); !reflect.DeepEqual(got, n) && len(n)+len(got) > 0 {
			t.Errorf("Encode(%q) = %v, literal run.c = %v", c.text, got, n)
		}
	}
	got, err := tk.EncodeWith("abc", EncodeOptions{AddBOS: true, AddEOS: true})
	if want := []int{1, id(" a"), id("bc"), 2}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("EncodeWith(bos, eos) = %v, %v; want %v", got, err, want)
	}
	if tk.BOS() != 1 || tk.EOS() != 2 || tk.VocabSize() != 279 || tk.MaxTokenLength() != 8 {
		t.Errorf("BOS, EOS, VocabSize, MaxTokenLength = %d, %d, %d, %d", tk.BOS(), tk.EOS(), tk.VocabSize(), tk.MaxTokenLength())
	}
}

// TestLlama2cMatchesRunC compares Encode with the literal transcription of
// run.c on random text over the vocab's characters, ties included.
func TestLlama2cMatchesRunC(t *testing.T) {
	tk := smallLlama(t)
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "b", "c", "e", "h", "t", " ", "é", "ü", "\x80", "x"}
	for range 2000 {
		var sb strings.Builder
		for range rng.IntN(24) {
			sb.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		text := sb.String()
		got, err := tk.Encode(text)
		if err != nil {
			t.Fatal(err)
		}
		if want := naiveRunC(tk, text); !reflect.DeepEqual(got, want) && len(got)+len(want) > 0 {
			t.Fatalf("Encode(%q) = %v, run.c = %v", text, got, want)
		}
	}
}

func TestLlama2cDecode(t *testing.T) {
	tk := smallLlama(t)
	cases := []struct {
		prev, id int
		want     string
	}{
		{-1, tk.ID(" the"), " the"},
		{1, tk.ID(" the"), "the"}, // after BOS the leading space goes
		{5, tk.ID(" the"), " the"},
		{1, tk.ID(" "), ""},
		{-1, 'A' + 3, "A"},
		{-1, 3, "\x00"},
		{-1, 1, "\n<s>\n"},
	}
	for _, c := range cases {
		got, err := tk.Piece(c.prev, c.id)
		if err != nil || got != c.want {
			t.Errorf("Piece(%d, %d) = %q, %v; want %q", c.prev, c.id, got, err, c.want)
		}
	}
	if _, err := tk.Piece(-1, tk.VocabSize()); err == nil {
		t.Error("Piece of an id out of range: no error")
	}
	if _, err := tk.Decode([]int{-1}); err == nil {
		t.Error("Decode(-1): no error")
	}
	ids, _ := tk.EncodeWith("the é ü", EncodeOptions{AddBOS: true})
	got, err := tk.Decode(ids)
	if want := "\n<s>\nthe é ü"; err != nil || got != want {
		t.Errorf("Decode(%v) = %q, %v; want %q", ids, got, err, want)
	}
}

func TestScanHexByte(t *testing.T) {
	cases := []struct {
		in   string
		want int // -1: no conversion
	}{
		{"<0x00>", 0}, {"<0x41>", 0x41}, {"<0xff>", 0xFF}, {"<0xFF>", 0xFF},
		{"<0x4>", 4}, {"<0x41junk", 0x41}, {"<0x123>", 0x12}, {"<0x 7>", 7},
		{"<0x-1>", 0xFF}, {"<0x+F>", 0xF}, {"<0x0x>", 0}, {"<0x>", -1},
		{"<0xG1>", -1}, {"<0X41>", -1}, {"0x41", -1}, {"<0x+>", -1}, {"", -1},
	}
	for _, c := range cases {
		b, ok := scanHexByte(c.in)
		got := -1
		if ok {
			got = int(b)
		}
		if got != c.want {
			t.Errorf("scanHexByte(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

func TestSafePrint(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""}, {"a", "a"}, {" ", " "}, {"\n", "\n"}, {"\t", "\t"},
		{"\x00", ""}, {"\x07", ""}, {"\x7f", ""}, {"\xc3", ""},
		{"ab", "ab"}, {"é", "é"}, {"a\x00b", "a"},
	}
	for _, c := range cases {
		if got := SafePrint(c.in); got != c.want {
			t.Errorf("SafePrint(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestParseLlama2cErrors(t *testing.T) {
	pieces, scores := smallLlamaVocab()
	good := buildBin(8, pieces, scores)
	n := len(pieces)
	negLen := buildBin(8, []string{"a", "b"}, []float32{0, 0})
	binary.LittleEndian.PutUint32(negLen[4+8+1+4:], 0xFFFFFFFF)
	hugeLen := buildBin(8, []string{"a", "b"}, []float32{0, 0})
	binary.LittleEndian.PutUint32(hugeLen[4+8+1+4:], 7)
	cases := []struct {
		name string
		data []byte
		n    int
		msg  string
	}{
		{"empty", nil, 3, "too short"},
		{"zero vocab", good, 0, "must be positive"},
		{"negative max", buildBin(-1, []string{"a"}, []float32{0}), 1, "max_token_length"},
		{"truncated", good[:len(good)-3], n, "truncated"},
		{"vocab too big for file", good, 1 << 40, "does not fit"},
		{"vocab larger than file holds", good, n + 1, "truncated"},
		{"vocab smaller than file", good, n - 1, "mismatch"},
		{"negative length", negLen, 2, "negative length"},
		{"length past end", hugeLen, 2, "truncated"},
		{"length above max", buildBin(1, []string{"a", "bb"}, []float32{0, 0}), 2, "max_token_length"},
		{"duplicate", buildBin(8, []string{"a", "b", "a"}, []float32{0, 0, 0}), 3, "duplicate"},
		{"nul", buildBin(8, []string{"a", "b\x00"}, []float32{0, 0}), 2, "NUL"},
	}
	for _, c := range cases {
		_, err := ParseLlama2c(c.data, c.n)
		if err == nil || !strings.HasPrefix(err.Error(), "tokenizer: ") || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: err = %v, want one containing %q", c.name, err, c.msg)
		}
	}
	if _, err := ParseLlama2c(good, n); err != nil {
		t.Errorf("good file: %v", err)
	}
}

func TestLlama2cEncodeErrors(t *testing.T) {
	// No " " piece: run.c would emit -1 as the dummy prefix.
	tk, err := ParseLlama2c(buildBin(2, []string{"a", "b", "c"}, []float32{0, 0, 0}), 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tk.Encode("a"); err == nil {
		t.Error("no dummy-prefix token: no error")
	}
	// Byte fallback beyond the vocab.
	tk, _ = ParseLlama2c(buildBin(2, []string{"a", "b", "c", " "}, []float32{0, 0, 0, 0}), 4)
	if _, err := tk.Encode("z"); err == nil {
		t.Error("byte fallback out of range: no error")
	}
	if got, err := tk.Encode(""); err != nil || len(got) != 0 {
		t.Errorf("Encode(\"\") = %v, %v", got, err)
	}
}
