package tokenizer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

var _ model = (*unigram)(nil)

// unigramJSON writes a Unigram model object.
func unigramJSON(pieces []string, scores []float64, unk string, byteFallback bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, `{"type":"Unigram","unk_id":%s,"byte_fallback":%v,"vocab":[`, unk, byteFallback)
	for i, p := range pieces {
		if i > 0 {
			b.WriteByte(',')
		}
		q, _ := json.Marshal(p)
		fmt.Fprintf(&b, "[%s,%v]", q, scores[i])
	}
	b.WriteString("]}")
	return b.String()
}

func mustUnigram(t testing.TB, js string) *unigram {
	t.Helper()
	u, _, err := parseUnigram(json.RawMessage(js), "test.json")
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// pieceIDs maps piece strings to ids, for readable expectations.
func pieceIDs(t *testing.T, u *unigram, pieces ...string) []int {
	t.Helper()
	ids := []int{}
	for _, p := range pieces {
		id, ok := u.vocab[p]
		if !ok {
			t.Fatalf("no piece %q", p)
		}
		ids = append(ids, id)
	}
	return ids
}

// The cases of the Rust library's model.rs tests (test_encode,
// test_encode2 with fuse_unk, and the encode doc example).
func TestUnigramRustCases(t *testing.T) {
	u := mustUnigram(t, unigramJSON(
		[]string{"<unk>", "a", "b", "c", "d", "cd", "ab", "abc", "abcd"},
		[]float64{0, 0, 0, 0, 0, 1, 2, 5, 10}, "0", false))
	for word, want := range map[string][]string{
		"abcd":      {"abcd"},
		"abcdacdxx": {"abcd", "a", "cd", "<unk>"},
	} {
		got, err := u.tokenize(nil, word)
		if err != nil || !slices.Equal(got, pieceIDs(t, u, want...)) {
			t.Errorf("tokenize(%q) = %v, %v; want %v", word, got, err, want)
		}
	}
	u = mustUnigram(t, unigramJSON(
		[]string{"<unk>", "ab", "cd", "abc", "a", "b", "c", "ABC", "abcdabcd", "q", "r", "qr"},
		[]float64{0, 0, -0.1, -0.2, -0.3, -0.4, -0.5, -0.5, 20, 20.5, 20.5, -0.5}, "0", false))
	for word, want := range map[string][]string{
		"abc":          {"abc"},
		"AB":           {"<unk>"},
		"abcd":         {"ab", "cd"},
		"abcc":         {"abc", "c"},
		"xabcabaabcdd": {"<unk>", "abc", "ab", "a", "ab", "cd", "<unk>"},
		"xyz東京":        {"<unk>"},
		"ABC":          {"ABC"},
		"abABCcd":      {"ab", "ABC", "cd"},
		"ababcdabcdcd": {"ab", "abcdabcd", "cd"},
		"abqrcd":       {"ab", "q", "r", "cd"},
	} {
		got, err := u.tokenize(nil, word)
		if err != nil || !slices.Equal(got, pieceIDs(t, u, want...)) {
			t.Errorf("tokenize(%q) = %v, %v; want %v", word, got, err, want)
		}
	}
}

// model.rs test_unigram_bytefallback, with its repeated "<0xE2>" (which
// this package refuses) replaced by another byte piece; the ids the test
// expects are unchanged.
func TestUnigramByteFallbackRust(t *testing.T) {
	u := mustUnigram(t, unigramJSON(
		[]string{"<unk>", "<0xE3>", "<0x85>", "<0xE2>", "<0x90>", "<0x91>", "<0x9B>", "Hello", "how", "are", " "},
		[]float64{0, -0.01, -0.02, -0.03, -0.04, -0.05, -0.06, -0.1, -0.2, -0.3, -0.4}, "0", true))
	cases := []struct {
		word string
		want []int
	}{
		{"Hello⅐how are⅑⅑", []int{7, 3, 2, 4, 8, 10, 9, 3, 2, 5, 3, 2, 5}},
		// One byte of "unknown‰" has no piece: the fused run is unk.
		{" unknown‰", []int{10, 0}},
		// A byte that is not valid UTF-8 is its own unknown character.
		{"how\x91are", []int{8, 5, 9}},
		{"\xe2\x85", []int{3, 2}},
	}
	for _, c := range cases {
		if got, err := u.tokenize(nil, c.word); err != nil || !slices.Equal(got, c.want) {
			t.Errorf("tokenize(%q) = %v, %v; want %v", c.word, got, err, c.want)
		}
	}
}

func TestUnigramRules(t *testing.T) {
	cases := []struct {
		name   string
		pieces []string
		scores []float64
		unk    string
		word   string
		want   []string // pieces; "" for an error
	}{
		// A tie keeps the path found first: "ab" from position 0 is offered
		// before "a"+"b" reaches the end.
		{"tie", []string{"<unk>", "a", "b", "ab"}, []float64{0, -1, -1, -2}, "0", "ab", []string{"ab"}},
		{"tie-reversed-scores", []string{"<unk>", "a", "b", "ab"}, []float64{0, -1, -1, -2.0000001}, "0", "ab", []string{"a", "b"}},
		// Unknown characters score min-10 each and fuse.
		{"unk-fused", []string{"<unk>", "a"}, []float64{0, -1}, "0", "xyaz", []string{"<unk>", "a", "<unk>"}},
		// The unk piece itself, matched literally, fuses with unknowns.
		{"unk-literal", []string{"<unk>", "a"}, []float64{0, -1}, "0", "x<unk>", []string{"<unk>"}},
		{"unk-literal-alone", []string{"<unk>", "a"}, []float64{0, -1}, "0", "a<unk>", []string{"a", "<unk>"}},
		// A fused run whose text is a piece gets that piece's id: with
		// scores this high, two unknowns (20+20) beat "xy" (30).
		{"fused-is-piece", []string{"<unk>", "xy", "z"}, []float64{50, 30, 40}, "0", "xy", []string{"xy"}},
		// No unk_id: an error only where an unknown node would be used.
		{"no-unk-covered", []string{"a", "ab"}, []float64{-1, 0}, "null", "ab", []string{"ab"}},
		{"no-unk", []string{"a", "ab"}, []float64{-1, 0}, "null", "ba", []string{""}},
		// Control pieces match too, as in the Rust library.
		{"control", []string{"<unk>", "</s>", "<", "/", "s", ">"}, []float64{0, 0, -1, -1, -1, -1}, "0", "</s>", []string{"</s>"}},
		{"empty-piece", []string{"", "<unk>", "a"}, []float64{5, 0, -1}, "1", "aa", []string{"a", "a"}},
	}
	for _, c := range cases {
		u := mustUnigram(t, unigramJSON(c.pieces, c.scores, c.unk, false))
		got, err := u.tokenize(nil, c.word)
		if c.want[0] == "" {
			if err == nil || !strings.Contains(err.Error(), "has no piece and the Unigram model has no unk_id") {
				t.Errorf("%s: tokenize(%q) = %v, %v; want an error", c.name, c.word, got, err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, pieceIDs(t, u, c.want...)) {
			t.Errorf("%s: tokenize(%q) = %v, %v; want %v", c.name, c.word, got, err, c.want)
		}
	}
	u := mustUnigram(t, unigramJSON([]string{"<unk>", "a"}, []float64{0, -1}, "0", false))
	if got, err := u.tokenize([]int{7}, ""); err != nil || !slices.Equal(got, []int{7}) {
		t.Errorf("empty word: %v, %v", got, err)
	}
}

func TestParseUnigramErrors(t *testing.T) {
	cases := []struct{ json, want string }{
		{`[]`, "not a JSON object"},
		{`{"type":"BPE","vocab":[["a",0]]}`, `type is not "Unigram"`},
		{`{"type":"Unigram"}`, "no vocab"},
		{`{"type":"Unigram","vocab":null}`, "no vocab"},
		{`{"type":"Unigram","vocab":[]}`, "the vocab is empty"},
		{`{"type":"Unigram","vocab":{}}`, "vocab: not a list"},
		{`{"type":"Unigram","vocab":[["a"]]}`, "entry 0"},
		{`{"type":"Unigram","vocab":[["a",1,2]]}`, `entry 0 ("a") is not a [piece, score] pair`},
		{`{"type":"Unigram","vocab":[[1,2]]}`, "entry 0: the piece is not a string"},
		{`{"type":"Unigram","vocab":[["a","1"]]}`, `entry 0 ("a"): the score is not a number`},
		{`{"type":"Unigram","vocab":[["a",1e999]]}`, "score 1e999 is not a finite number"},
		{`{"type":"Unigram","vocab":[["a",0],["b",0],["a",-1]]}`, `piece "a" repeated at ids 0 and 2`},
		{`{"type":"Unigram","unk_id":1,"vocab":[["a",0]]}`, "unk_id 1 is not an id of the 1 pieces"},
		{`{"type":"Unigram","unk_id":-1,"vocab":[["a",0]]}`, "unk_id -1"},
		{`{"type":"Unigram","unk_id":0.5,"vocab":[["a",0]]}`, "unk_id 0.5"},
		{`{"type":"Unigram","unk_id":"0","vocab":[["a",0]]}`, "unk_id is not a number"},
		{`{"type":"Unigram","byte_fallback":1,"vocab":[["a",0]]}`, `"byte_fallback" is not true or false`},
		{`{"type":"Unigram","vocab":[["a",0]],"dropout":0.1}`, `unknown field "dropout"`},
		{`{"type":"Unigram","vocab":[["a",0]],"vocab":[["b",0]]}`, `repeated field "vocab"`},
	}
	for _, c := range cases {
		_, _, err := parseUnigram(json.RawMessage(c.json), "x.json")
		if err == nil {
			t.Errorf("%s: no error", c.json)
			continue
		}
		if !strings.HasPrefix(err.Error(), "tokenizer: x.json: Unigram model: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q, want one containing %q", c.json, err, c.want)
		}
	}
	u, tokens, err := parseUnigram(json.RawMessage(`{"type":"Unigram","unk_id":null,"byte_fallback":null,"vocab":[["a",-1.5],["▁b",-2]]}`), "x.json")
	if err != nil || !slices.Equal(tokens, []string{"a", "▁b"}) || u.unk != -1 || u.byteFallback || u.unkScore != -12 {
		t.Errorf("parseUnigram: %+v %v %v", u, tokens, err)
	}
}

type unigramGolden struct {
	Cases []struct {
		Text       string `json:"text"`
		IDs        []int  `json:"ids"`
		IDsSpecial []int  `json:"ids_special"`
		Decoded    string `json:"decoded"`
		Normalized string `json:"normalized"`
		Words      []struct {
			Word  string `json:"word"`
			IDs   []int  `json:"ids"`
			SPIDs []int  `json:"sp_ids"`
		} `json:"words"`
	} `json:"cases"`
}

// loadUnigramFixture reads a fixture tokenizer.json: its normalizer and
// its Unigram model.
func loadUnigramFixture(t testing.TB, file string) (normalizer, *unigram, []string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata/unigram", file))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Normalizer json.RawMessage `json:"normalizer"`
		Model      json.RawMessage `json:"model"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	n, err := parseNormalizer(f.Normalizer, file)
	if err != nil {
		t.Fatal(err)
	}
	u, tokens, err := parseUnigram(f.Model, file)
	if err != nil {
		t.Fatal(err)
	}
	return n, u, tokens
}

// metaspaceSplit is the Rust library's Metaspace pre-tokenizer with
// prepend_scheme "always" and split: spaces become "▁", a "▁" goes in
// front, and each "▁" starts a word.
func metaspaceSplit(s string) []string {
	if s == "" {
		return nil
	}
	s = strings.ReplaceAll(s, " ", metaSpace)
	if !strings.HasPrefix(s, metaSpace) {
		s = metaSpace + s
	}
	var words []string
	for s != "" {
		end := strings.Index(s[len(metaSpace):], metaSpace)
		if end < 0 {
			end = len(s)
		} else {
			end += len(metaSpace)
		}
		words = append(words, s[:end])
		s = s[end:]
	}
	return words
}

// rustNormalized lists the golden texts that the Rust library normalizes
// otherwise than SentencePiece (whose result golden.json records): "\r\n"
// is one grapheme cluster, which Precompiled replaces whole by the rule of
// its shortest prefix "\r", one space, where SentencePiece writes a space
// for each. The words, and so the ids, are the same.
var rustNormalized = map[string]string{
	"tabs\tand\nnewlines\r\nend": "tabs and newlines end",
}

// The fixture's goldens: tokenizers.js and SentencePiece agree on every
// word (gen.mjs records sp_ids where they do not, and there are none), so
// both are checked here at the model level, and the whole text through
// the normalizer, a Metaspace split and the model.
func TestUnigramGolden(t *testing.T) {
	norm, u, tokens := loadUnigramFixture(t, "tokenizer.json")
	if len(tokens) != 400 || tokens[1] != "</s>" || u.unk != 2 {
		t.Fatalf("fixture: %d pieces, %q, unk %d", len(tokens), tokens[1], u.unk)
	}
	var g unigramGolden
	readJSON(t, "testdata/unigram/golden.json", &g)
	words := 0
	for _, c := range g.Cases {
		for _, w := range c.Words {
			if w.SPIDs != nil {
				t.Errorf("golden word %q: the references disagree (%v, %v)", w.Word, w.IDs, w.SPIDs)
			}
			got, err := u.tokenize(nil, w.Word)
			if err != nil || !slices.Equal(got, w.IDs) {
				t.Errorf("tokenize(%q) = %v, %v; want %v", w.Word, got, err, w.IDs)
			}
			words++
		}
		if !slices.Equal(c.IDsSpecial, append(slices.Clone(c.IDs), 1)) {
			t.Errorf("%q: ids_special %v is not ids + </s>", c.Text, c.IDsSpecial)
		}
		if strings.Contains(c.Text, "</s>") {
			continue // added tokens are cut out before the normalizer
		}
		normalized := norm.normalize(c.Text)
		if rust, ok := rustNormalized[c.Text]; ok {
			c.Normalized = rust
		}
		if normalized != c.Normalized {
			t.Errorf("normalize(%q) = %q, want %q", c.Text, normalized, c.Normalized)
		}
		var ids []int
		for _, w := range metaspaceSplit(normalized) {
			var err error
			if ids, err = u.tokenize(ids, w); err != nil {
				t.Fatal(err)
			}
		}
		if !slices.Equal(ids, c.IDs) && !(len(ids) == 0 && len(c.IDs) == 0) {
			t.Errorf("%q: ids %v, want %v", c.Text, ids, c.IDs)
		}
	}
	if words < 100 {
		t.Errorf("only %d golden words", words)
	}
}

// Byte fallback against SentencePiece (tokenizers.js has none for
// Unigram).
func TestUnigramGoldenByteFallback(t *testing.T) {
	_, u, _ := loadUnigramFixture(t, "tokenizer_bytefallback.json")
	if !u.byteFallback {
		t.Fatal("fixture without byte_fallback")
	}
	var g struct {
		Words []struct {
			Word string `json:"word"`
			IDs  []int  `json:"ids"`
		} `json:"words"`
	}
	readJSON(t, "testdata/unigram/golden_bytefallback.json", &g)
	fallback := 0
	for _, w := range g.Words {
		got, err := u.tokenize(nil, w.Word)
		if err != nil || !slices.Equal(got, w.IDs) {
			t.Errorf("tokenize(%q) = %v, %v; want %v", w.Word, got, err, w.IDs)
		}
		if slices.ContainsFunc(got, func(id int) bool { return id >= 3 && id < 3+256 }) {
			fallback++
		}
	}
	if fallback < 5 {
		t.Errorf("only %d words use byte fallback", fallback)
	}
}

func TestUnigramConcurrent(t *testing.T) {
	_, u, _ := loadUnigramFixture(t, "tokenizer.json")
	words := metaspaceSplit("The quick brown fox jumps over the lazy dog. Größe 🙂 東京は日本の首都です")
	want := make([][]int, len(words))
	for i, w := range words {
		ids, err := u.encode(nil, w)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = ids
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 200 {
				i := (g + k) % len(words)
				got, err := u.tokenize([]int{-1}, words[i])
				if err != nil || !slices.Equal(got[1:], want[i]) || got[0] != -1 {
					errs <- fmt.Sprintf("tokenize(%q) = %v, %v", words[i], got, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func FuzzParseUnigram(f *testing.F) {
	for _, file := range []string{"tokenizer.json", "tokenizer_bytefallback.json"} {
		data, err := os.ReadFile(filepath.Join("testdata/unigram", file))
		if err != nil {
			f.Fatal(err)
		}
		var tj struct {
			Model json.RawMessage `json:"model"`
		}
		if err := json.Unmarshal(data, &tj); err != nil {
			f.Fatal(err)
		}
		f.Add([]byte(tj.Model))
	}
	f.Add([]byte(`{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0],["a",-1],["ab",-1.5]]}`))
	f.Add([]byte(`{"type":"Unigram","unk_id":null,"byte_fallback":true,"vocab":[["<0x61>",0],["b",-1]]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		u, tokens, err := parseUnigram(data, "f.json")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "tokenizer: f.json: ") {
				t.Fatalf("error without prefix: %v", err)
			}
			return
		}
		if len(tokens) == 0 || len(tokens) != len(u.scores) || u.unk >= len(tokens) {
			t.Fatalf("%d tokens, %d scores, unk %d", len(tokens), len(u.scores), u.unk)
		}
		for _, w := range []string{"ab", "▁a b", "\xff", tokens[len(tokens)-1]} {
			ids, err := u.tokenize(nil, w)
			if err != nil {
				if u.unk >= 0 || !strings.Contains(err.Error(), "no unk_id") {
					t.Fatalf("tokenize(%q): %v", w, err)
				}
				continue
			}
			checkIDs(t, ids, len(tokens))
		}
	})
}

func FuzzUnigramTokenize(f *testing.F) {
	for _, s := range []string{"▁Hello", "▁ΟΔΟΣ", "▁🙂🙃x", "▁\xff\xfe", "▁東京は日本の首都です。", "ab▁▁c", "<unk></s>"} {
		f.Add(s)
	}
	_, plain, plainTokens := loadUnigramFixture(f, "tokenizer.json")
	_, bytes, byteTokens := loadUnigramFixture(f, "tokenizer_bytefallback.json")
	f.Fuzz(func(t *testing.T, word string) {
		ids, err := plain.tokenize(nil, word)
		if err != nil {
			t.Fatal(err)
		}
		checkIDs(t, ids, len(plainTokens))
		if len(ids) > len(word) {
			t.Fatalf("%d ids for %d bytes", len(ids), len(word))
		}
		ids, err = bytes.tokenize(nil, word)
		if err != nil {
			t.Fatal(err)
		}
		checkIDs(t, ids, len(byteTokens))
		// Without unk, the pieces spell the word back, byte tokens as
		// their bytes, unless the word holds the text of a byte token,
		// which matches as a piece (as in the Rust library).
		if slices.Contains(ids, bytes.unk) || strings.Contains(word, "<0x") {
			return
		}
		var b strings.Builder
		for _, id := range ids {
			if v, ok := parseByteToken(byteTokens[id]); ok {
				b.WriteByte(v)
			} else {
				b.WriteString(byteTokens[id])
			}
		}
		if b.String() != word {
			t.Fatalf("pieces of %q spell %q", word, b.String())
		}
	})
}
