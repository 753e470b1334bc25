package tokenizer

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// The pre-tokenizers of tokenizer.json, computing the words the Rust
// tokenizers library computes (see docs/pretokenizers.md).
//
// Every one of them is built on one operation, the library's
// NormalizedString::split: a pattern cuts the text into segments, the
// matches and the text between them (empty matches included), and a
// delimiter behavior decides what becomes of the matches. Empty words are
// dropped at the end, as PreTokenizedString::split drops them.

// splitBehavior is SplitDelimiterBehavior.
type splitBehavior int

const (
	behaviorRemoved            splitBehavior = iota // matches are dropped
	behaviorIsolated                                // each match is a word
	behaviorMergedWithPrevious                      // a match joins the word before it
	behaviorMergedWithNext                          // a match joins the word after it
	behaviorContiguous                              // runs of matches, and of non-matches, are words
)

var behaviorNames = map[string]splitBehavior{
	"Removed":            behaviorRemoved,
	"Isolated":           behaviorIsolated,
	"MergedWithPrevious": behaviorMergedWithPrevious,
	"MergedWithNext":     behaviorMergedWithNext,
	"Contiguous":         behaviorContiguous,
}

// segmenter turns the segments of one text into words, as
// NormalizedString::split folds them for its behavior. Segments arrive in
// order and cover the text.
type segmenter struct {
	s        string
	dst      []string
	behavior splitBehavior
	// pending is the word being built, when has: [plo, phi) with the flag
	// of its last segment.
	has        bool
	plo, phi   int
	pmatch     bool
	prevMatch  bool // the flag of the previous segment
	firstStart int  // start of the first word appended, -1 before it
}

func newSegmenter(dst []string, s string, b splitBehavior) segmenter {
	return segmenter{s: s, dst: dst, behavior: b, firstStart: -1}
}

func (g *segmenter) emit(lo, hi int) {
	if lo == hi {
		return
	}
	if g.firstStart < 0 {
		g.firstStart = lo
	}
	g.dst = append(g.dst, g.s[lo:hi])
}

// add takes the next segment, s[lo:hi], a match or not.
func (g *segmenter) add(lo, hi int, match bool) {
	switch g.behavior {
	case behaviorIsolated:
		g.emit(lo, hi)
	case behaviorRemoved:
		if !match {
			g.emit(lo, hi)
		}
	case behaviorMergedWithPrevious:
		if match && !g.prevMatch && g.has {
			g.phi = hi
		} else {
			g.flush()
			g.has, g.plo, g.phi = true, lo, hi
		}
	case behaviorMergedWithNext:
		// A match joins the non-match right after it; otherwise it stands
		// alone.
		switch {
		case match:
			g.flush()
			g.has, g.plo, g.phi, g.pmatch = true, lo, hi, true
		case g.has:
			g.emit(g.plo, hi)
			g.has = false
		default:
			g.emit(lo, hi)
		}
	case behaviorContiguous:
		if g.has && match == g.prevMatch {
			g.phi = hi
		} else {
			g.flush()
			g.has, g.plo, g.phi = true, lo, hi
		}
	}
	g.prevMatch = match
}

func (g *segmenter) flush() {
	if g.has {
		g.emit(g.plo, g.phi)
		g.has = false
	}
}

// done returns the words and whether the first of them starts the text.
func (g *segmenter) done() ([]string, bool) {
	g.flush()
	return g.dst, g.firstStart == 0
}

// stage is a pre-tokenizer that also reports whether the first word it
// appended starts at the beginning of s, none of the text before it
// dropped: Sequence passes first on to that word only, as the Rust
// library's prepend_scheme "first" looks for a word at offset 0.
type stage interface {
	preTokenizer
	split(dst []string, s string, first bool) (out []string, lead bool)
}

// Split: a pattern, a behavior and invert.
type splitPre struct {
	pat      *splitPattern
	behavior splitBehavior
	invert   bool
}

func (p *splitPre) preTokenize(dst []string, s string, first bool) []string {
	dst, _ = p.split(dst, s, first)
	return dst
}

func (p *splitPre) split(dst []string, s string, _ bool) ([]string, bool) {
	if s == "" {
		return dst, false
	}
	if p.behavior == behaviorIsolated && p.pat.scan != nil {
		// Every segment is a word, whatever invert says; no empty match.
		return p.pat.isolated(dst, s), true
	}
	g := newSegmenter(dst, s, p.behavior)
	prev := 0
	p.pat.each(s, func(lo, hi int) {
		if prev != lo {
			g.add(prev, lo, p.invert)
		}
		g.add(lo, hi, !p.invert)
		prev = hi
	})
	if prev != len(s) {
		g.add(prev, len(s), p.invert)
	}
	return g.done()
}

// charSplit splits on the characters for which is reports true, each its
// own match (the Rust library's Fn(char) -> bool patterns).
type charSplit struct {
	is       func(r rune) bool
	behavior splitBehavior
}

func (p *charSplit) preTokenize(dst []string, s string, first bool) []string {
	dst, _ = p.split(dst, s, first)
	return dst
}

func (p *charSplit) split(dst []string, s string, _ bool) ([]string, bool) {
	g := newSegmenter(dst, s, p.behavior)
	last := 0
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		if p.is(r) {
			if last < i {
				g.add(last, i, false)
			}
			g.add(i, i+w, true)
			last = i + w
		}
		i += w
	}
	if last < len(s) {
		g.add(last, len(s), false)
	}
	return g.done()
}

// whitespacePre is the Whitespace pre-tokenizer: the Rust regex crate's
// \w+|[^\w\s]+ keeps runs of word characters and runs of other
// non-space characters and drops whitespace. That \w is Alphabetic, Mark,
// Decimal_Number, Connector_Punctuation and Join_Control.
type whitespacePre struct{}

const rustWord = cL | cNl | cOtherAlpha | cM | cNd | cPc | cJoin

func (whitespacePre) preTokenize(dst []string, s string, first bool) []string {
	dst, _ = whitespacePre{}.split(dst, s, first)
	return dst
}

func (whitespacePre) split(dst []string, s string, _ bool) ([]string, bool) {
	t := classTable()
	lead := false
	for i := 0; i < len(s); {
		c, w := classify(t, s, i)
		if c&cSpace != 0 {
			i += w
			continue
		}
		var e int
		if c&rustWord != 0 {
			e = runOfClass(t, s, i+w, rustWord)
		} else {
			e = i + w
			for e < len(s) {
				c2, w2 := classify(t, s, e)
				if c2&(rustWord|cSpace) != 0 {
					break
				}
				e += w2
			}
		}
		if i == 0 {
			lead = true
		}
		dst = append(dst, s[i:e])
		i = e
	}
	return dst, lead
}

// sequencePre runs its stages one after the other over all words.
type sequencePre struct{ stages []stage }

func (p *sequencePre) preTokenize(dst []string, s string, first bool) []string {
	dst, _ = p.split(dst, s, first)
	return dst
}

// wordBufs holds the scratch word lists of Sequence.
var wordBufs = sync.Pool{New: func() any { return new([]string) }}

func getWords() *[]string { return wordBufs.Get().(*[]string) }

func putWords(w *[]string) {
	if cap(*w) > 1<<16 {
		return
	}
	clear((*w)[:cap(*w)])
	*w = (*w)[:0]
	wordBufs.Put(w)
}

func (p *sequencePre) split(dst []string, s string, first bool) ([]string, bool) {
	if s == "" {
		return dst, false
	}
	if len(p.stages) == 0 {
		return append(dst, s), true
	}
	one := [1]string{s}
	words, lead := one[:], true
	var held *[]string // the scratch list words is in, if any
	defer func() {
		if held != nil {
			putWords(held)
		}
	}()
	for k, st := range p.stages {
		last := k == len(p.stages)-1
		var buf *[]string
		out := dst
		if !last {
			buf = getWords()
			out = *buf
		}
		newLead := false
		if bl, ok := st.(*byteLevelPre); ok {
			// ByteLevel maps all words at once; its words start where
			// their pieces do.
			out, newLead = bl.splitWords(out, words)
			newLead = newLead && lead
		} else {
			for i, w := range words {
				n := len(out)
				var l bool
				out, l = st.split(out, w, first && lead && i == 0)
				if i == 0 {
					newLead = lead && l && len(out) > n
				}
			}
		}
		if last {
			return out, newLead
		}
		*buf = out
		if held != nil {
			putWords(held)
		}
		held = buf
		if len(out) == 0 {
			return dst, false
		}
		words, lead = out, newLead
	}
	return dst, false
}

// byteLevelPre is ByteLevel: per piece, an optional leading space, GPT-2's
// split (use_regex), then each byte of each word becomes its character in
// GPT-2's byte-to-unicode alphabet.
type byteLevelPre struct {
	addPrefixSpace bool
	useRegex       bool
}

// byteLevelChar is the UTF-8 form of byteToRune[b], one or two bytes.
var byteLevelChar = func() (a [256]struct {
	b [2]byte
	n uint8
}) {
	for b := range 256 {
		n := utf8.EncodeRune(a[b].b[:], byteToRune[b])
		a[b].n = uint8(n)
	}
	return a
}()

// appendByteLevel appends the byte-level form of s to buf.
func appendByteLevel(buf []byte, s string) []byte {
	o := len(buf)
	buf = slices.Grow(buf, 2*len(s))[:o+2*len(s)]
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '!' && c <= '~' {
			buf[o] = c
			o++
			continue
		}
		e := &byteLevelChar[c]
		buf[o] = e.b[0]
		if e.n == 2 {
			buf[o+1] = e.b[1]
		}
		o += int(e.n)
	}
	return buf[:o]
}

func (p *byteLevelPre) preTokenize(dst []string, s string, _ bool) []string {
	dst, _ = p.splitWords(dst, []string{s})
	return dst
}

func (p *byteLevelPre) split(dst []string, s string, _ bool) ([]string, bool) {
	return p.splitWords(dst, []string{s})
}

// splitWords is split over many pieces at once: all their words are
// written into one string and cut out of it, so that together they cost
// one allocation. lead reports that the first piece gave words.
func (p *byteLevelPre) splitWords(dst []string, pieces []string) ([]string, bool) {
	n := 0
	for _, s := range pieces {
		if s == "" {
			continue
		}
		if p.addPrefixSpace && s[0] != ' ' {
			n += int(byteLevelChar[' '].n)
		}
		for i := 0; i < len(s); i++ {
			n += int(byteLevelChar[s[i]].n)
		}
	}
	buf := make([]byte, 0, n)
	ends := getEnds()
	defer putEnds(ends)
	t := classTable()
	for _, s := range pieces {
		if s == "" {
			continue
		}
		if p.addPrefixSpace && s[0] != ' ' {
			s = " " + s
		}
		if !p.useRegex {
			buf = appendByteLevel(buf, s)
			*ends = append(*ends, int32(len(buf)))
			continue
		}
		for i := 0; i < len(s); {
			j := scanGPT2(t, s, i)
			buf = appendByteLevel(buf, s[i:j])
			*ends = append(*ends, int32(len(buf)))
			i = j
		}
	}
	all := string(buf)
	lo := 0
	for _, e := range *ends {
		dst = append(dst, all[lo:e])
		lo = int(e)
	}
	return dst, len(pieces) > 0 && pieces[0] != ""
}

// endBufs holds ByteLevel's scratch lists of word ends.
var endBufs = sync.Pool{New: func() any { return new([]int32) }}

func getEnds() *[]int32 { return endBufs.Get().(*[]int32) }

func putEnds(e *[]int32) {
	if cap(*e) <= 1<<20 {
		*e = (*e)[:0]
		endBufs.Put(e)
	}
}

// prependScheme is Metaspace's prepend_scheme.
type prependScheme int

const (
	prependSchemeAlways prependScheme = iota
	prependSchemeFirst
	prependSchemeNever
)

// metaspacePre is Metaspace: ' ' becomes the replacement, which is put in
// front per the scheme unless the piece already starts with it, and the
// text is cut before every replacement character (MergedWithNext).
type metaspacePre struct {
	rep    string // one character
	scheme prependScheme
	cut    bool // split: cut before each replacement
}

func (p *metaspacePre) preTokenize(dst []string, s string, first bool) []string {
	dst, _ = p.split(dst, s, first)
	return dst
}

func (p *metaspacePre) split(dst []string, s string, first bool) ([]string, bool) {
	if s == "" {
		return dst, false
	}
	var b strings.Builder
	b.Grow(len(s) + len(p.rep) + 2*strings.Count(s, " "))
	if !strings.HasPrefix(s, " ") && !strings.HasPrefix(s, p.rep) &&
		(p.scheme == prependSchemeAlways || p.scheme == prependSchemeFirst && first) {
		b.WriteString(p.rep)
	}
	for i := 0; i < len(s); {
		k := strings.IndexByte(s[i:], ' ')
		if k < 0 {
			b.WriteString(s[i:])
			break
		}
		b.WriteString(s[i : i+k])
		b.WriteString(p.rep)
		i += k + 1
	}
	t := b.String()
	if !p.cut {
		return append(dst, t), true
	}
	lo := 0
	for lo < len(t) {
		k := strings.Index(t[lo+1:], p.rep)
		if k < 0 {
			break
		}
		e := lo + 1 + k
		dst = append(dst, t[lo:e])
		lo = e
	}
	return append(dst, t[lo:]), true
}

// parsePreTokenizer builds the pre_tokenizer object of a tokenizer.json
// named name; JSON null or nothing is no pre-tokenizer.
func parsePreTokenizer(raw json.RawMessage, name string) (preTokenizer, error) {
	if isNull(raw) {
		return nil, nil
	}
	st, err := parseStage(raw, "pre_tokenizer")
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", name, err)
	}
	return st, nil
}

// preFields lists the fields each type accepts. Fields the Rust library
// reads but that do not change the words (trim_offsets, str_rep) are
// accepted and ignored; any other is an error.
var preFields = map[string][]string{
	"Split":              {"pattern", "behavior", "invert"},
	"Sequence":           {"pretokenizers"},
	"ByteLevel":          {"add_prefix_space", "use_regex", "trim_offsets"},
	"Metaspace":          {"replacement", "prepend_scheme", "add_prefix_space", "split", "str_rep"},
	"Digits":             {"individual_digits"},
	"Punctuation":        {"behavior"},
	"Whitespace":         {},
	"WhitespaceSplit":    {},
	"BertPreTokenizer":   {},
	"CharDelimiterSplit": {"delimiter"},
}

// required lists the fields the Rust library requires (it has no default
// for them).
var preRequired = map[string][]string{
	"Split":              {"pattern", "behavior", "invert"},
	"Sequence":           {"pretokenizers"},
	"ByteLevel":          {"add_prefix_space"},
	"Digits":             {"individual_digits"},
	"CharDelimiterSplit": {"delimiter"},
}

// preFieldsJSON decodes one pre-tokenizer object's fields by name.
type preFieldsJSON struct {
	where string
	f     map[string]json.RawMessage
}

func (p preFieldsJSON) errorf(format string, args ...any) error {
	return fmt.Errorf(p.where+": "+format, args...)
}

func (p preFieldsJSON) has(k string) bool { _, ok := p.f[k]; return ok }

func (p preFieldsJSON) bool(k string, def bool) (bool, error) {
	raw, ok := p.f[k]
	if !ok {
		return def, nil
	}
	var v bool
	if err := json.Unmarshal(raw, &v); err != nil || isNull(raw) {
		return false, p.errorf("%s is not a boolean", k)
	}
	return v, nil
}

func (p preFieldsJSON) string(k string) (string, error) {
	var v string
	if raw := p.f[k]; json.Unmarshal(raw, &v) != nil || isNull(raw) {
		return "", p.errorf("%s is not a string", k)
	}
	return v, nil
}

// char reads a field holding exactly one character, as serde reads char.
func (p preFieldsJSON) char(k string) (string, error) {
	v, err := p.string(k)
	if err != nil {
		return "", err
	}
	if utf8.RuneCountInString(v) != 1 {
		return "", p.errorf("%s %q is not one character", k, v)
	}
	return v, nil
}

func (p preFieldsJSON) behavior(k string, def splitBehavior) (splitBehavior, error) {
	if !p.has(k) {
		return def, nil
	}
	v, err := p.string(k)
	if err != nil {
		return 0, err
	}
	b, ok := behaviorNames[v]
	if !ok {
		return 0, p.errorf("unknown %s %q", k, v)
	}
	return b, nil
}

// parseStage builds one pre-tokenizer; where names it in errors.
func parseStage(raw json.RawMessage, where string) (stage, error) {
	var f map[string]json.RawMessage
	if err := json.Unmarshal(raw, &f); err != nil || f == nil {
		return nil, fmt.Errorf("%s is not a JSON object", where)
	}
	var typ string
	if t, ok := f["type"]; !ok {
		return nil, fmt.Errorf("%s has no type", where)
	} else if json.Unmarshal(t, &typ) != nil {
		return nil, fmt.Errorf("%s: type is not a string", where)
	}
	allowed, ok := preFields[typ]
	if !ok {
		if typ == "UnicodeScripts" {
			return nil, fmt.Errorf("%s UnicodeScripts is not supported", where)
		}
		return nil, fmt.Errorf("%s: unknown type %q", where, typ)
	}
	where += " " + typ
	var unknown []string
	for k := range f {
		if k != "type" && !contains(allowed, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("%s: unknown field %q", where, unknown[0])
	}
	for _, k := range preRequired[typ] {
		if _, ok := f[k]; !ok {
			return nil, fmt.Errorf("%s: missing field %q", where, k)
		}
	}
	p := preFieldsJSON{where: where, f: f}
	switch typ {
	case "Split":
		return parseSplitPre(p)
	case "Sequence":
		var items []json.RawMessage
		if err := json.Unmarshal(f["pretokenizers"], &items); err != nil || isNull(f["pretokenizers"]) {
			return nil, p.errorf("pretokenizers is not a list")
		}
		seq := &sequencePre{}
		for i, it := range items {
			st, err := parseStage(it, fmt.Sprintf("%s[%d]", where, i))
			if err != nil {
				return nil, err
			}
			seq.stages = append(seq.stages, st)
		}
		return seq, nil
	case "ByteLevel":
		aps, err := p.bool("add_prefix_space", false)
		if err != nil {
			return nil, err
		}
		re, err := p.bool("use_regex", true)
		if err != nil {
			return nil, err
		}
		if _, err := p.bool("trim_offsets", false); err != nil {
			return nil, err
		}
		return &byteLevelPre{addPrefixSpace: aps, useRegex: re}, nil
	case "Metaspace":
		return parseMetaspacePre(p)
	case "Digits":
		ind, err := p.bool("individual_digits", false)
		if err != nil {
			return nil, err
		}
		b := behaviorContiguous
		if ind {
			b = behaviorIsolated
		}
		return &charSplit{is: unicode.IsNumber, behavior: b}, nil
	case "Punctuation":
		b, err := p.behavior("behavior", behaviorIsolated)
		if err != nil {
			return nil, err
		}
		return &charSplit{is: isBertPunct, behavior: b}, nil
	case "Whitespace":
		return whitespacePre{}, nil
	case "WhitespaceSplit":
		return &charSplit{is: unicode.IsSpace, behavior: behaviorRemoved}, nil
	case "BertPreTokenizer":
		return &sequencePre{stages: []stage{
			&charSplit{is: unicode.IsSpace, behavior: behaviorRemoved},
			&charSplit{is: isBertPunct, behavior: behaviorIsolated},
		}}, nil
	case "CharDelimiterSplit":
		d, err := p.char("delimiter")
		if err != nil {
			return nil, err
		}
		r, _ := utf8.DecodeRuneInString(d)
		return &charSplit{is: func(c rune) bool { return c == r }, behavior: behaviorRemoved}, nil
	}
	return nil, fmt.Errorf("%s: unknown type", where)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func parseSplitPre(p preFieldsJSON) (stage, error) {
	src, literal, err := parsePatternJSON(p.f["pattern"])
	if err != nil {
		return nil, p.errorf("%v", err)
	}
	b, err := p.behavior("behavior", 0)
	if err != nil {
		return nil, err
	}
	inv, err := p.bool("invert", false)
	if err != nil {
		return nil, err
	}
	pat, err := compileSplitPattern(src, literal)
	if err != nil {
		return nil, p.errorf("regex %q: %v", src, err)
	}
	return &splitPre{pat: pat, behavior: b, invert: inv}, nil
}

func parseMetaspacePre(p preFieldsJSON) (stage, error) {
	m := &metaspacePre{rep: "\u2581", scheme: prependSchemeAlways}
	if p.has("replacement") {
		r, err := p.char("replacement")
		if err != nil {
			return nil, err
		}
		m.rep = r
	}
	if p.has("prepend_scheme") {
		v, err := p.string("prepend_scheme")
		if err != nil {
			return nil, err
		}
		switch v {
		case "always":
		case "first":
			m.scheme = prependSchemeFirst
		case "never":
			m.scheme = prependSchemeNever
		default:
			return nil, p.errorf("unknown prepend_scheme %q", v)
		}
	}
	// The legacy add_prefix_space: false must agree with the scheme, which
	// defaults to always; true changes nothing.
	aps, err := p.bool("add_prefix_space", true)
	if err != nil {
		return nil, err
	}
	if !aps && m.scheme != prependSchemeNever {
		return nil, p.errorf(`add_prefix_space false contradicts prepend_scheme (it must be "never")`)
	}
	if m.cut, err = p.bool("split", true); err != nil {
		return nil, err
	}
	if p.has("str_rep") {
		if _, err := p.string("str_rep"); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// compile-time checks that every pre-tokenizer is a stage.
var (
	_ stage = (*splitPre)(nil)
	_ stage = (*charSplit)(nil)
	_ stage = whitespacePre{}
	_ stage = (*sequencePre)(nil)
	_ stage = (*byteLevelPre)(nil)
	_ stage = (*metaspacePre)(nil)
)
