package tokenizer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"unicode"

	"github.com/attn-go/attn/internal/testmodels"
)

// realPatterns are the Split regexes with scanners, by short name.
var realPatterns = []struct{ name, src string }{
	{"gpt2", patGPT2},
	{"llama3", patLlama3},
	{"qwen2", patQwen2},
	{"o200k", patO200k},
	{"digits3", patDigits3},
	{"cjk", patCJK},
	{"deepseek", patDeepSeek},
}

// scannerAndGeneric compiles src both ways.
func scannerAndGeneric(t testing.TB, src string) (sc, gen *splitPattern) {
	t.Helper()
	sc, err := compileSplitPattern(src, false)
	if err != nil {
		t.Fatal(err)
	}
	if sc.scan == nil {
		t.Fatalf("no scanner for %q", src)
	}
	gen, err = sc.generic()
	if err != nil {
		t.Fatalf("generic %q: %v", src, err)
	}
	return sc, gen
}

func matchesOf(p *splitPattern, s string) [][2]int {
	var out [][2]int
	p.each(s, func(lo, hi int) { out = append(out, [2]int{lo, hi}) })
	return out
}

func matchStrings(p *splitPattern, s string) []string {
	var out []string
	p.each(s, func(lo, hi int) { out = append(out, s[lo:hi]) })
	return out
}

// trickyTexts exercise the corners of the patterns: contractions in every
// case and with ſ, letters of every subcategory and marks, digit runs of
// every length, whitespace runs with and without newlines, at the end and
// before text, punctuation with newlines and '/', invalid UTF-8.
var trickyTexts = []string{
	"", "a", " ", "\n", "'", "''s", "'", "Hello world", "I'm you're we've he'll she'd it's 'S 'T 'RE 'Ve 'LL 'lL 'M 'D",
	"'ſ 'ſx 'ſt 'K 'k x's X'S", "don't DON'T Don'T", "'re're 'rex 'r 'v 'l",
	"1 12 123 1234 12345 1234567 ½⅓¼ ٣٤٥٦ Ⅻ", "a1b22c333d4444",
	"  hi", "   hi", "a  b", "a \n b", "x  \n  y", "\n\n\n", " \n \n ", "\t\tword", "\r\n\r\nx", "end  ", "end \n",
	"!!!\n\nx", "!?\r\n/x", "a/b//c\n/d", " !a", " ! a", "$100", "(abc) [def] {ghi}", "'hello' \"world\"",
	"HelloWorld HELLOworld HELLO world ÀBCdeF ǅungla ǅ ǈx ʰʱ ʰa aʰ Aʰ AʰB ʰAa", "Ǆǅǆ ǇǈǉX",
	"中文字 日本語のテキスト カタカナー ㄱㄴ 한국어", "ab漢字cd 龥龦 ぀ゟ゠ヿ",
	"e\u0301 \u0301 \u0301a a\u0301\u0301b A\u0301B !\u0301 1\u0301 \u0301\u0301",
	"\xff\xfeabc\x80 \xe6\x97 \xf0\x9f\x98x", "\u00a0a\u2003b\u3000c\u2028d\u200be\u0085f",
	"emoji 🙂🙃 👍🏽 and 𝔾𝕠𝕠𝕕", "\x00\x01a\x1fb", "tab\tsep\vvt\fff", "Ωmega ωmega ΣΑΣ",
	"a'sb A'SB ʰ'sx ǅ'll", "'s's's", "x'", "...'s", "¿Qué? ¡Sí!", "«ok» — – ‘x’ “y”",
	"code: func(x int) { return x*2 } // comment\n\tif a>=b && c!=d {", "https://example.com/a/b?c=d&e=f#g",
	"3abc ,abc 'x _y -z", "€5 £3 ¥7 ₹9", "\u200d\u200c\u2060\ufeff", "Ⓐⓑ ①② ㊀",
}

func TestScannersMatchGeneric(t *testing.T) {
	for _, p := range realPatterns {
		sc, gen := scannerAndGeneric(t, p.src)
		for _, s := range trickyTexts {
			a, b := matchesOf(sc, s), matchesOf(gen, s)
			if !reflect.DeepEqual(a, b) {
				t.Errorf("%s on %q:\nscanner %v\ngeneric %v", p.name, s, a, b)
			}
		}
	}
}

// The words of each pattern on hand-checked examples.
func TestScannerWords(t *testing.T) {
	for _, c := range []struct {
		pat, text string
		want      []string
	}{
		{patLlama3, "Hello world", []string{"Hello", " world"}},
		{patLlama3, "I'm fine", []string{"I", "'m", " fine"}},
		{patLlama3, "don't", []string{"don", "'t"}},
		{patLlama3, "'sUp 'ſx 'LL", []string{"'s", "Up", " '", "ſx", " '", "LL"}},
		{patLlama3, "1234567", []string{"123", "456", "7"}},
		{patLlama3, "  hi", []string{" ", " hi"}},
		{patLlama3, "a\n\nb", []string{"a", "\n\n", "b"}},
		{patLlama3, "!!!\n\nx", []string{"!!!\n\n", "x"}},
		{patLlama3, "x  \n  y", []string{"x", "  \n", " ", " y"}},
		{patLlama3, "\tfoo $100", []string{"\tfoo", " $", "100"}},
		{patLlama3, "end  ", []string{"end", "  "}},
		{patLlama3, "\xffabc", []string{"\xffabc"}},
		{patQwen2, "1234 ab", []string{"1", "2", "3", "4", " ab"}},
		{patO200k, "HelloWorld", []string{"Hello", "World"}},
		{patO200k, "HELLOworld", []string{"HELLOworld"}},
		{patO200k, "HELLO world", []string{"HELLO", " world"}},
		{patO200k, "I'm don't", []string{"I'm", " don't"}},
		{patO200k, "a/b !\n/x", []string{"a", "/b", " !\n/", "x"}},
		{patO200k, "1234567", []string{"123", "456", "7"}},
		{patDeepSeek, "Hello, world", []string{"Hello", ",", " world"}},
		{patDeepSeek, "(abc) 's", []string{"(abc", ")", " '", "s"}},
		{patDeepSeek, "(abc)'s", []string{"(abc", ")'", "s"}},
		{patDeepSeek, "中文 3", []string{"中文", " "}}, // "3" is left unmatched
		{patDigits3, "a12345b", []string{"123", "45"}},
		{patCJK, "ab漢字cdカナ", []string{"漢字", "カナ"}},
		{patGPT2, "Hello world's 123 !!", []string{"Hello", " world", "'s", " 123", " !!"}},
	} {
		p, err := compileSplitPattern(c.pat, false)
		if err != nil {
			t.Fatal(err)
		}
		if got := matchStrings(p, c.text); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%.24s… on %q: %q, want %q", c.pat, c.text, got, c.want)
		}
	}
}

// The scanners cover the text with their matches, except DeepSeek's
// third pattern and the two single-class ones.
func TestScannerCoverage(t *testing.T) {
	for _, src := range []string{patGPT2, patLlama3, patQwen2, patO200k} {
		p, _ := compileSplitPattern(src, false)
		for _, s := range trickyTexts {
			if got := strings.Join(matchStrings(p, s), ""); got != s {
				t.Errorf("%.20s on %q: matches join to %q", src, s, got)
			}
		}
	}
}

// contraction matches what (?i:'s|'t|'re|'ve|'m|'ll|'d) matches under
// case folding: the ASCII letters and ſ, which folds to s. No other
// character folds to one of these letters.
func TestContractionFolding(t *testing.T) {
	for _, l := range "strevmld" {
		for r := unicode.SimpleFold(l); r != l; r = unicode.SimpleFold(r) {
			if r != unicode.ToUpper(l) && r != 'ſ' {
				t.Errorf("%q folds to %q, which contraction does not know", r, l)
			}
		}
	}
	gen, err := compileSplitPattern("(?i:'s|'t|'re|'ve|'m|'ll|'d)x", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"'sx", "'Sx", "'ſx", "'REx", "'rEx", "'lLx", "'Dx", "'Kx", "'ßx", "'x"} {
		want := -1
		if lo, hi := gen.find(s, 0); lo == 0 {
			want = hi - 1 // before the x
		}
		if got := contraction(s, 0); got != want {
			t.Errorf("contraction(%q) = %d, generic engine: %d", s, got, want)
		}
	}
}

// The scanners are chosen by the exact pattern strings of the real files.
func TestRealPatternsHaveScanners(t *testing.T) {
	pres := sharedPreTokenizers(t)
	regexes := 0
	var walk func(raw json.RawMessage, f string)
	walk = func(raw json.RawMessage, f string) {
		var c struct {
			Type    string            `json:"type"`
			Pattern map[string]string `json:"pattern"`
			Pre     []json.RawMessage `json:"pretokenizers"`
		}
		if json.Unmarshal(raw, &c) != nil {
			return
		}
		if r, ok := c.Pattern["Regex"]; ok && c.Type == "Split" {
			regexes++
			if _, ok := scanners[r]; !ok {
				t.Errorf("%s: no scanner for %q", f, r)
			}
		}
		for _, p := range c.Pre {
			walk(p, f)
		}
	}
	for f, pre := range pres {
		walk(pre, f)
	}
	// Llama 3, Qwen3 and gpt-oss have one Split regex each, DeepSeek-V3
	// three: a walk that found fewer has stopped reading the files.
	if regexes < 6 && len(pres) == 6 {
		t.Errorf("found %d Split regexes in %d files, want at least 6", regexes, len(pres))
	}
}

func TestTranslateOnig(t *testing.T) {
	const w = `\p{L}\p{M}\p{N}\p{Pc}`
	for _, c := range []struct{ in, out, err string }{
		{in: `abc`, out: `abc`},
		{in: `a.b`, out: `a.b`},
		{in: `'s|x`, out: `\'s|x`},
		{in: `\s+\S`, out: `\s+\S`},
		{in: `\d\D`, out: `\p{Nd}\P{Nd}`},
		{in: `\w\W`, out: `[` + w + `][^` + w + `]`},
		{in: `[\w-]`, out: `[` + w + `\-]`},
		{in: `\h`, out: `[0-9a-fA-F]`},
		{in: `\p{L}\P{N}\p{^Lu}`, out: `[\p{L}][^\p{N}][^\p{Lu}]`},
		{in: `\p{Letter}\p{lowercase_letter}\p{Han}\p{old italic}`, out: `[\p{L}][\p{Ll}][\p{Han}][\p{Old_Italic}]`},
		{in: `[^\r\n\p{L}\p{N}]?`, out: `[^\u000D\u000A\p{L}\p{N}]?`},
		{in: `[\P{L}]`, out: `[\P{L}]`},
		{in: `[a-z0-9_]`, out: `[a-z0-9_]`},
		{in: `[!-/\]\\\-^]`, out: `[\!-\/\]\\\-\^]`},
		{in: `[一-龥]`, out: `[一-龥]`},
		{in: `a{2}b{2,}c{2,3}d{,3}e{2,3}?f*?g+?h??i*+j++k?+`, out: `a{2}b{2,}c{2,3}d{0,3}e{2,3}?f*?g+?h??i*+j++k?+`},
		{in: `a{x}b{`, out: `a\{x\}b\{`},
		{in: `(?i:ab)(?i)c(?-i)d(?m:.)`, out: `(?i:ab)(?i)c(?-i)d(?s:.)`},
		{in: `(a)(?<n>b)(?'m'c)(?:d)(?#note)e`, out: `(?:a)(?:b)(?:c)(?:d)e`},
		{in: `a(?=b)(?!c)(?<=d)(?<!e)(?>f)`, out: `a(?=b)(?!c)(?<=d)(?<!e)(?>f)`},
		{in: `\x41\x{1F600}\u00e9\t\n`, out: "A\U0001F600é\\u0009\\u000A"},
		{in: `\A\z`, out: `\A\z`},
		{in: `\Z`, out: `(?=\n?\z)`},
		{in: `\.\*\ \é`, out: `\.\* é`},
		{in: `^a`, err: `anchor '^'`},
		{in: `a$`, err: `anchor '$'`},
		{in: `\G`, err: `escape \G`},
		{in: `\1`, err: `escape \1`},
		{in: `\k<x>`, err: `escape \k`},
		{in: `\xFF`, err: `byte escape`},
		{in: `\x{D800}`, err: `bad code point`},
		{in: `[[:alpha:]]`, err: `nested class`},
		{in: `[a&&b]`, err: `intersection`},
		{in: `[\W]`, err: `\W inside a class`},
		{in: `[]a]`, err: `']' at the start`},
		{in: `[]`, err: `']' at the start`},
		{in: `[a`, err: `missing ']'`},
		{in: `[z-a]`, err: `empty range`},
		{in: `[\s-z]`, err: `range from a class escape`},
		{in: `(a`, err: `missing ')'`},
		{in: `a)`, err: `unmatched ')'`},
		{in: `*a`, err: `follows nothing`},
		{in: `a**`, err: `nested quantifier`},
		{in: `(?=a)*`, err: `zero-width`},
		{in: `a{3}?`, err: `not supported`},
		{in: `a{1,2}+`, err: `not supported`},
		{in: `a{3,2}`, err: `not supported`},
		{in: `a{100001}`, err: `exceeds`},
		{in: `(?x)a`, err: `option 'x'`},
		{in: `(?~a)`, err: `not supported`},
		{in: `(?(1)a)`, err: `not supported`},
		{in: `\p{Alpha}`, err: `property \p{Alpha}`},
		{in: `\p{C}`, err: `property \p{C}`},
		{in: `\pL`, err: `without {`},
		{in: `[\P{LC}]`, err: `negated`},
		{in: "\xff", err: `not valid UTF-8`},
		{in: `a\`, err: `trailing backslash`},
	} {
		got, err := translateOnig(c.in)
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("translateOnig(%q) = %q, %v; want error with %q", c.in, got, err, c.err)
			}
		case err != nil || got != c.out:
			t.Errorf("translateOnig(%q) = %q, %v; want %q", c.in, got, err, c.out)
		default:
			if _, err := compileSplitPattern(c.in, false); err != nil {
				t.Errorf("compile %q (%q): %v", c.in, got, err)
			}
		}
	}
}

// Oniguruma semantics the translation keeps: \w and \b with marks and
// all numbers, \s as White_Space, literal escapes.
func TestGenericSemantics(t *testing.T) {
	for _, c := range []struct {
		pat, text string
		want      []string
	}{
		{`\w+`, "ab\u0301c ½x_y", []string{"ab\u0301c", "½x_y"}},
		{`\b\w`, "ab cd", []string{"a", "c"}},
		{`\s+`, "a\u0085b\u00a0c\u200bd\u3000e", []string{"\u0085", "\u00a0", "\u3000"}},
		{`\d+`, "a12٣b½", []string{"12٣"}},
		{`[\d\s]+`, "a1 2b", []string{"1 2"}},
		{`(?i)straße`, "STRASSE Straße STRAßE", []string{"Straße", "STRAßE"}},
		{`\p{Lu}\p{Ll}+`, "HelloWorld", []string{"Hello", "World"}},
		{`(?m:a.b)`, "a\nb", []string{"a\nb"}},
		{`a.b`, "a\nb a\rb", []string{"a\rb"}},
		{`[\x00-\x1f]`, "a\x01b", []string{"\x01"}},
	} {
		p, err := compileSplitPattern(c.pat, false)
		if err != nil {
			t.Fatalf("%q: %v", c.pat, err)
		}
		var got []string
		p.each(c.text, func(lo, hi int) {
			if hi > lo {
				got = append(got, c.text[lo:hi])
			}
		})
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q on %q: %q, want %q", c.pat, c.text, got, c.want)
		}
	}
}

// find, the matcher interface: the first non-empty match at or after
// start, the same for every kind of pattern.
func TestFind(t *testing.T) {
	for _, c := range []struct {
		src     string
		literal bool
		text    string
		start   int
		lo, hi  int
	}{
		{"ab", true, "xxabab", 0, 2, 4},
		{"ab", true, "xxabab", 3, 4, 6},
		{"ab", true, "xxabab", 5, -1, -1},
		{"", true, "abc", 0, -1, -1},
		{`a*`, false, "bbaab", 0, 2, 4},
		{`a*`, false, "bbaab", 3, 3, 4},
		{`(?<=a)b`, false, "ab", 1, 1, 2},
		{patDeepSeek, false, "12 34", 0, 2, 3},
		{patCJK, false, "ab中c", 0, 2, 5},
		{patCJK, false, "ab中c", 5, -1, -1},
		{patLlama3, false, "ab cd", 2, 2, 5},
		{patLlama3, false, "ab", 9, -1, -1},
	} {
		p, err := compileSplitPattern(c.src, c.literal)
		if err != nil {
			t.Fatal(err)
		}
		if lo, hi := p.find(c.text, c.start); lo != c.lo || hi != c.hi {
			t.Errorf("find(%q, %q, %d) = %d, %d; want %d, %d", c.src, c.text, c.start, lo, hi, c.lo, c.hi)
		}
	}
}

// sharedPre holds the pre_tokenizer objects of the shared real
// tokenizer.json files, by path: the files are large, so they are read
// once per test binary.
var sharedPre struct {
	once sync.Once
	pre  map[string]json.RawMessage
	err  error
}

// sharedPreTokenizers returns those objects; the test skips when the
// shared folder is absent.
func sharedPreTokenizers(t *testing.T) map[string]json.RawMessage {
	t.Helper()
	dir := testmodels.Tokenizer(t)
	sharedPre.once.Do(func() {
		files, _ := filepath.Glob(filepath.Join(dir, "*", "tokenizer.json"))
		sharedPre.pre = map[string]json.RawMessage{}
		for _, f := range files {
			var doc struct {
				Pre json.RawMessage `json:"pre_tokenizer"`
			}
			data, err := os.ReadFile(f)
			if err == nil {
				err = json.Unmarshal(data, &doc)
			}
			if err != nil {
				sharedPre.err = fmt.Errorf("%s: %v", f, err)
				return
			}
			sharedPre.pre[f] = doc.Pre
		}
	})
	if sharedPre.err != nil {
		t.Fatal(sharedPre.err)
	}
	if len(sharedPre.pre) == 0 {
		t.Skipf("no tokenizer.json in %s", dir)
	}
	return sharedPre.pre
}
