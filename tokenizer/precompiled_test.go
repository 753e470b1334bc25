package tokenizer

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// buildCharsmap compiles rules into a precompiled_charsmap: a darts-clone
// double array laid out as parsePrecompiledCharsmap reads it, and the
// NUL-terminated replacements. Each node's children go to a fresh
// 256-unit block, which keeps the builder short at the cost of size.
func buildCharsmap(rules map[string]string) []byte {
	keys := make([]string, 0, len(rules))
	for k := range rules {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var blob []byte
	value := map[string]uint32{}
	for _, k := range keys {
		value[k] = uint32(len(blob))
		blob = append(append(blob, rules[k]...), 0)
	}
	units := make([]uint32, 256)
	// place puts the children of the node at pos whose key so far is
	// prefix; it returns nothing, filling units.
	var place func(pos int, prefix string)
	place = func(pos int, prefix string) {
		var labels []byte
		for _, k := range keys {
			if len(k) > len(prefix) && strings.HasPrefix(k, prefix) && !slices.Contains(labels, k[len(prefix)]) {
				labels = append(labels, k[len(prefix)])
			}
		}
		_, leaf := rules[prefix]
		if len(labels) == 0 && !leaf {
			return
		}
		base := len(units)
		units = append(units, make([]uint32, 256)...)
		units[pos] |= uint32(pos^base) << 10
		if leaf && prefix != "" {
			units[pos] |= dartsHasLeaf
			units[base] = value[prefix] | 1<<31
		}
		for _, c := range labels {
			units[base^int(c)] = uint32(c)
		}
		for _, c := range labels {
			place(base^int(c), prefix+string([]byte{c}))
		}
	}
	place(0, "")
	out := binary.LittleEndian.AppendUint32(nil, uint32(4*len(units)))
	for _, u := range units {
		out = binary.LittleEndian.AppendUint32(out, u)
	}
	return append(out, blob...)
}

var tinyRules = map[string]string{
	"a":            "x",
	"ab":           "yz",
	"e\u0301":      "é",
	"Ａ":            "A",
	"Ａ\u0301":      "Á",
	"ß":            "ss",
	"\u0001":       "",
	"\u00a0":       " ",
	"\ufb01":       "fi",
	"\u1100\u1161": "\uac00",
}

var tinyCharsmapBase64 = base64.StdEncoding.EncodeToString(buildCharsmap(tinyRules))

func TestPrecompiledTiny(t *testing.T) {
	n := mustNormalizer(t, `{"type":"Precompiled","precompiled_charsmap":"`+tinyCharsmapBase64+`"}`)
	cases := []struct{ in, want string }{
		{"", ""},
		{"plain", "plxin"},
		// "a" and "b" are two clusters: the rule "ab" is never reached.
		{"ab", "xb"},
		// One cluster of 5 bytes: the shortest rule, "Ａ", replaces all of
		// it, the accent included.
		{"Ａ\u0301", "A"},
		// 7 bytes: character by character.
		{"Ａ\u0301\u0301", "A\u0301\u0301"},
		{"e\u0301", "é"},
		// 5 bytes again: "e" has no rule, "e\u0301" is the shortest.
		{"e\u0301\u0301", "é"},
		{"ß\u00a0\u0001ﬁ", "ss fi"},
		// A Hangul LV cluster of 6 bytes goes character by character.
		{"\u1100\u1161", "\u1100\u1161"},
		// Bytes that are not valid UTF-8 are kept and end a cluster.
		{"a\xffa\u0301\xc3", "x\xffx\xc3"},
	}
	for _, c := range cases {
		if got := n.normalize(c.in); got != c.want {
			t.Errorf("normalize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// The charsmap of the committed fixture is a part of SentencePiece's
// nmt_nfkc, so these are the Rust library's results with T5's rules.
func TestPrecompiledFixture(t *testing.T) {
	n := fixtureNormalizer(t, "tokenizer.json")
	seq := n.(normSequence)
	p := seq[0].(*precompiled)
	cases := []struct{ in, want string }{
		{"Hello", "Hello"},
		{"\ufb01 ＡＢＣ １２３ \u212b ½", "fi ABC 123 Å 1⁄2"},
		{"tab\tnl\nzw\u200bnb\u00a0", "tab nl zw nb "},
		{"bel\u0007", "bel"},
		// "\r\n" is one cluster; the rule of "\r" replaces it whole.
		{"a\r\nb\n\rc", "a b  c"},
		{"e\u0301 A\u030a", "é Å"},
		// Shortest rule per cluster: the accent after a full-width letter
		// is lost (SentencePiece would give "Á").
		{"Ａ\u0301", "A"},
		// NFD "ắ" is one 5-byte cluster; the rule "a\u0306" is the
		// shortest prefix and replaces it whole, so the acute is lost.
		{"a\u0306\u0301", "ă"},
		// 6 bytes or more: character by character, so this stays
		// decomposed.
		{"a\u0306\u0301\u0301", "a\u0306\u0301\u0301"},
	}
	for _, c := range cases {
		if got := p.normalize(c.in); got != c.want {
			t.Errorf("normalize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := n.normalize("a  b   "); got != "a▁b" {
		t.Errorf("fixture normalizer on %q = %q", "a  b   ", got)
	}
}

func TestPrecompiledHardening(t *testing.T) {
	// A trie whose root points outside the array, whose child points
	// outside, whose values point past the blob or inside a character.
	charsmap := func(units []uint32, blob string) *precompiled {
		data := binary.LittleEndian.AppendUint32(nil, uint32(4*len(units)))
		for _, u := range units {
			data = binary.LittleEndian.AppendUint32(data, u)
		}
		p, err := parsePrecompiledCharsmap(append(data, blob...))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Root at 0 with offset 1: child 'a' at 1^'a' = 0x60.
	units := make([]uint32, 0x70)
	units[0] = 1 << 10
	units[0x60] = 'a' | dartsHasLeaf | (0x60^0x40)<<10 // value at 0x40
	units[0x40] = 100 | 1<<31                          // past the blob
	units[1^'b'] = 'b' | dartsHasLeaf | (1^'b'^0x61)<<10
	units[0x61] = 1 | 1<<31 // inside "é"
	p := charsmap(units, "é\x00")
	for _, s := range []string{"a", "b", "c"} {
		if got := p.normalize(s); got != s {
			t.Errorf("normalize(%q) = %q, want it kept", s, got)
		}
	}
	far := []uint32{(1 << 21) << 10, 0}
	if got := charsmap(far, "").normalize("xyz"); got != "xyz" {
		t.Errorf("root outside the trie: %q", got)
	}
	if got := charsmap(nil, "abc").normalize("abc"); got != "abc" {
		t.Errorf("empty trie: %q", got)
	}
	// The last n%4 bytes of the trie size belong to the blob.
	data := append(binary.LittleEndian.AppendUint32(nil, 6), 0, 0, 0, 0, 'z', 0)
	q, err := parsePrecompiledCharsmap(data)
	if err != nil || len(q.units) != 1 || q.blob != "z\x00" {
		t.Errorf("odd trie size: %+v, %v", q, err)
	}
	for _, bad := range [][]byte{nil, {1, 0}, {8, 0, 0, 0, 1, 2, 3, 4}, {0, 0, 0, 0, 0xff}} {
		if _, err := parsePrecompiledCharsmap(bad); err == nil {
			t.Errorf("charsmap %v: no error", bad)
		}
	}
	for _, s := range []string{"AAAA\nAAAA", "AAA", "AAB="} {
		if _, err := decodeCharsmap(s); err == nil {
			t.Errorf("base64 %q: no error", s)
		}
	}
}

// TestPrecompiledNmtNfkc checks the trie reader against SentencePiece on
// the full nmt_nfkc charsmap, one code point at a time, where the
// grapheme walk and SentencePiece's longest match agree. It runs when
// ATTN_NMT_NFKC names a folder made by scripts/golden/unigram/nmt_check.sh.
func TestPrecompiledNmtNfkc(t *testing.T) {
	dir := os.Getenv("ATTN_NMT_NFKC")
	if dir == "" {
		t.Skip("ATTN_NMT_NFKC not set")
	}
	data, err := os.ReadFile(filepath.Join(dir, "nmt_nfkc.bin"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := parsePrecompiledCharsmap(data)
	if err != nil {
		t.Fatal(err)
	}
	in, err1 := os.ReadFile(filepath.Join(dir, "allcp.txt"))
	want, err2 := os.ReadFile(filepath.Join(dir, "allcp.spm.txt"))
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	a, b := strings.Split(string(in), "\n"), strings.Split(string(want), "\n")
	if len(a) != len(b) || len(a) < 1_000_000 {
		t.Fatalf("%d inputs, %d outputs", len(a), len(b))
	}
	bad := 0
	for i := range a {
		if got := p.normalize(a[i]); got != b[i] {
			if bad++; bad <= 10 {
				t.Errorf("%+q: got %+q, SentencePiece %+q", a[i], got, b[i])
			}
		}
	}
	t.Logf("%d code points, %d differ", len(a), bad)
}

func fixtureNormalizer(t *testing.T, file string) normalizer {
	t.Helper()
	var f struct {
		Normalizer json.RawMessage `json:"normalizer"`
	}
	data, err := os.ReadFile(filepath.Join("testdata/unigram", file))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	return mustNormalizer(t, string(f.Normalizer))
}

func FuzzPrecompiled(f *testing.F) {
	f.Add(buildCharsmap(tinyRules), "aÅ\u0301b\xff")
	f.Add(buildCharsmap(map[string]string{"x": "", "xy": "\x00"}), "xyxy")
	f.Add([]byte{8, 0, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 'q', 0}, "a")
	if data, err := os.ReadFile("testdata/unigram/tokenizer.json"); err == nil {
		var tj struct {
			Normalizer struct {
				Normalizers []struct {
					Charsmap string `json:"precompiled_charsmap"`
				} `json:"normalizers"`
			} `json:"normalizer"`
		}
		if json.Unmarshal(data, &tj) == nil && len(tj.Normalizer.Normalizers) > 0 {
			if b, err := decodeCharsmap(tj.Normalizer.Normalizers[0].Charsmap); err == nil {
				f.Add(b, "Ａ\u0301 ﬁ e\u0301")
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, text string) {
		p, err := parsePrecompiledCharsmap(data)
		if err != nil {
			return
		}
		out := p.normalize(text)
		// Each cluster or character becomes at most one replacement.
		if limit := len(text) * max(len(p.blob), 4); !(len(out) <= limit) {
			t.Fatalf("normalize(%q) = %d bytes, over %d", text, len(out), limit)
		}
	})
}
