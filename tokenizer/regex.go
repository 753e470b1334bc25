package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/dlclark/regexp2/v2"
)

// A splitPattern is the pattern of a Split pre-tokenizer (or of any stage
// that takes {"String": s} or {"Regex": r}): a literal, a hand-written
// scanner for a recognised regex, or the generic regex engine.
//
// Its matches are those of the Rust library: the regex is compiled by
// Oniguruma and iterated with rust-onig's find_iter, which yields empty
// matches too, except one found by the search right after a non-empty
// match; after an empty match the search resumes one character further.
// A String pattern is the escaped literal compiled the same way, so the
// empty string matches (empty) at every character boundary.
//
// splitPattern implements matcher, whose find skips empty matches.
type splitPattern struct {
	src     string
	literal bool       // src is a String pattern
	scan    scanner    // non-nil for a recognised regex
	starts  *[256]bool // the bytes scan can match at, nil for all
	re      *regexp2.Regexp
}

// compileSplitPattern builds the pattern {"String": s} (literal) or
// {"Regex": r}.
func compileSplitPattern(src string, literal bool) (*splitPattern, error) {
	p := &splitPattern{src: src, literal: literal}
	if literal {
		return p, nil
	}
	if sc, ok := scanners[src]; ok {
		p.scan, p.starts = sc.scan, sc.starts
		return p, nil
	}
	tr, err := translateOnig(src)
	if err != nil {
		return nil, err
	}
	re, err := regexp2.Compile(tr, regexp2.None, regexp2.OptionMaxBacktrackingStackSize(-1))
	if err != nil {
		return nil, fmt.Errorf("%v", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	p.re = re
	return p, nil
}

// generic returns p compiled with the generic engine even when a scanner
// stands for it; the differential tests compare the two.
func (p *splitPattern) generic() (*splitPattern, error) {
	tr, err := translateOnig(p.src)
	if err != nil {
		return nil, err
	}
	re, err := regexp2.Compile(tr, regexp2.None, regexp2.OptionMaxBacktrackingStackSize(-1))
	if err != nil {
		return nil, err
	}
	return &splitPattern{src: p.src, re: re}, nil
}

// parsePatternJSON reads {"String": s} or {"Regex": r}.
func parsePatternJSON(raw json.RawMessage) (src string, literal bool, err error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return "", false, fmt.Errorf(`pattern is not {"String": ...} or {"Regex": ...}`)
	}
	if len(m) != 1 {
		return "", false, fmt.Errorf(`pattern must have exactly one of "String" and "Regex"`)
	}
	for k, v := range m {
		if k != "String" && k != "Regex" {
			return "", false, fmt.Errorf("unknown pattern kind %q", k)
		}
		if err := json.Unmarshal(v, &src); err != nil {
			return "", false, fmt.Errorf("pattern %s is not a string", k)
		}
		literal = k == "String"
	}
	return src, literal, nil
}

// each calls yield with every match of p in s, in order, empty matches
// included, as the Rust library iterates them.
func (p *splitPattern) each(s string, yield func(lo, hi int)) {
	switch {
	case p.literal && p.src == "":
		for i := 0; i < len(s); {
			yield(i, i)
			_, w := utf8.DecodeRuneInString(s[i:])
			i += w
		}
		yield(len(s), len(s))
	case p.literal:
		for i := 0; ; {
			k := strings.Index(s[i:], p.src)
			if k < 0 {
				return
			}
			i += k
			yield(i, i+len(p.src))
			i += len(p.src)
		}
	case p.scan != nil:
		t := classTable()
		for i := 0; i < len(s); {
			lo, hi := p.next(t, s, i)
			if lo < 0 {
				return
			}
			yield(lo, hi)
			i = hi
		}
	default:
		p.eachGeneric(s, yield)
	}
}

// next returns the scanner's first match at or after i, or -1, -1.
func (p *splitPattern) next(t *[0x10000]uint16, s string, i int) (lo, hi int) {
	for i < len(s) {
		b := s[i]
		if p.starts == nil || p.starts[b] {
			if e := p.scan(t, s, i); e >= 0 {
				return i, e
			}
		}
		if b < utf8.RuneSelf {
			i++
		} else {
			i += charWidth(s, i)
		}
	}
	return -1, -1
}

// isolated appends the matches of a scanner pattern and the text between
// them, in order: the words of Split with behavior Isolated.
func (p *splitPattern) isolated(dst []string, s string) []string {
	t := classTable()
	gap := 0 // start of the unmatched text before i
	for i := 0; i < len(s); {
		lo, hi := p.next(t, s, i)
		if lo < 0 {
			break
		}
		if gap < lo {
			dst = append(dst, s[gap:lo])
		}
		dst = append(dst, s[lo:hi])
		i, gap = hi, hi
	}
	if gap < len(s) {
		dst = append(dst, s[gap:])
	}
	return dst
}

// runeBuf holds a string decoded for regexp2: its characters (an invalid
// byte is U+FFFD) and the byte offset of each, plus len(s) at the end.
type runeBuf struct {
	runes []rune
	offs  []int
}

// decode fills b from s.
func (b *runeBuf) decode(s string) {
	b.runes, b.offs = b.runes[:0], b.offs[:0]
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		b.runes = append(b.runes, r)
		b.offs = append(b.offs, i)
		i += w
	}
	b.offs = append(b.offs, len(s))
}

var runeBufs = sync.Pool{New: func() any { return new(runeBuf) }}

// eachGeneric runs regexp2 over the whole text once. regexp2 iterates as
// .NET does, which yields every match rust-onig yields and, in addition,
// an empty match found right after a non-empty one; those are dropped.
func (p *splitPattern) eachGeneric(s string, yield func(lo, hi int)) {
	b := runeBufs.Get().(*runeBuf)
	defer func() {
		if cap(b.runes) <= 1<<20 {
			runeBufs.Put(b)
		}
	}()
	b.decode(s)
	afterNonEmpty := false
	// With an unbounded backtracking stack and no timeout, regexp2 returns
	// no error.
	_ = p.re.FindRunesMatches(b.runes, 0, func(v regexp2.MatchView) bool {
		i, n, _ := v.GroupRange(0)
		if n == 0 && afterNonEmpty {
			afterNonEmpty = false
			return true
		}
		afterNonEmpty = n > 0
		yield(b.offs[i], b.offs[i+n])
		return true
	})
}

// find returns the first non-empty match at or after start, as the
// matcher interface asks.
func (p *splitPattern) find(s string, start int) (lo, hi int) {
	if start > len(s) {
		return -1, -1
	}
	switch {
	case p.literal && p.src == "":
		return -1, -1
	case p.literal:
		k := strings.Index(s[start:], p.src)
		if k < 0 {
			return -1, -1
		}
		return start + k, start + k + len(p.src)
	case p.scan != nil:
		return p.next(classTable(), s, start)
	}
	return p.findGeneric(s, start)
}

// findGeneric searches from start with regexp2; the search sees the text
// before start, for lookbehind.
func (p *splitPattern) findGeneric(s string, start int) (lo, hi int) {
	b := runeBufs.Get().(*runeBuf)
	defer func() {
		if cap(b.runes) <= 1<<20 {
			runeBufs.Put(b)
		}
	}()
	b.decode(s)
	k := 0
	for k < len(b.runes) && b.offs[k] < start {
		k++
	}
	lo, hi = -1, -1
	_ = p.re.FindRunesMatches(b.runes, k, func(v regexp2.MatchView) bool {
		i, n, _ := v.GroupRange(0)
		if n == 0 {
			return true
		}
		lo, hi = b.offs[i], b.offs[i+n]
		return false
	})
	return lo, hi
}

var _ matcher = (*splitPattern)(nil)
