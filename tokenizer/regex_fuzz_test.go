package tokenizer

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzSplitScanners checks on arbitrary bytes that every scanner finds
// exactly the matches of the generic engine running the same pattern.
func FuzzSplitScanners(f *testing.F) {
	for _, s := range trickyTexts {
		f.Add(s)
	}
	type pair struct {
		name    string
		sc, gen *splitPattern
	}
	var pairs []pair
	for _, p := range realPatterns {
		sc, gen := scannerAndGeneric(f, p.src)
		pairs = append(pairs, pair{p.name, sc, gen})
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, p := range pairs {
			a, b := matchesOf(p.sc, s), matchesOf(p.gen, s)
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("%s on %q:\nscanner %v\ngeneric %v", p.name, s, a, b)
			}
			checkMatches(t, s, a)
		}
	})
}

// checkMatches checks that matches are in order, do not overlap and start
// and end on character boundaries.
func checkMatches(t *testing.T, s string, ms [][2]int) {
	t.Helper()
	prev := 0
	for _, m := range ms {
		if m[0] < prev || m[1] < m[0] || m[1] > len(s) || !boundary(s, m[0]) || !boundary(s, m[1]) {
			t.Fatalf("bad matches %v in %q", ms, s)
		}
		prev = m[1]
	}
}

// boundary reports whether i starts a character (an invalid byte is one).
func boundary(s string, i int) bool {
	for j := 0; j < len(s); {
		if j >= i {
			return j == i
		}
		_, w := utf8.DecodeRuneInString(s[j:])
		j += w
	}
	return i == len(s)
}

// FuzzSplitPattern compiles arbitrary patterns: translation and
// compilation never panic, and a compiled pattern's matches on a short
// text are well formed.
func FuzzSplitPattern(f *testing.F) {
	for _, p := range []string{patLlama3, `a*`, `(?i:ab|c)+?`, `[^\s\p{L}]{2,3}`, `\bx\B`, `(?<=a)b|(?=c)`, `[a-z&&b]`, `\x{10FFFF}\u00e9`, `(?#c)(?<n>x)`} {
		f.Add(p, "ab c1 'S\n")
	}
	f.Fuzz(func(t *testing.T, pattern, text string) {
		if utf8.RuneCountInString(pattern) > 32 || len(text) > 12 {
			return
		}
		p, err := compileSplitPattern(pattern, false)
		if err != nil {
			return
		}
		checkMatches(t, text, matchesOf(p, text))
		if lo, hi := p.find(text, 0); lo >= 0 && (hi <= lo || hi > len(text)) {
			t.Fatalf("find = %d, %d", lo, hi)
		}
	})
}

// Words of the Isolated splits of full-coverage patterns join to the text.
func TestJoinProperty(t *testing.T) {
	p := mustPre(t, splitCfg(`{"Regex": "`+strings.NewReplacer(`\`, `\\`).Replace(patO200k)+`"}`, "Isolated", false))
	for _, s := range trickyTexts {
		if got := strings.Join(p.preTokenize(nil, s, true), ""); got != s {
			t.Errorf("%q: words join to %q", s, got)
		}
	}
}
