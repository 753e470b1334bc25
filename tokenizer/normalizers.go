package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// The normalizers of a tokenizer.json, as the Hugging Face tokenizers
// library (tokenizers/src/normalizers) runs them. Each accepts any byte
// string; what it does with bytes that are not valid UTF-8 is said at its
// type. Character properties come from Go's unicode package (Unicode
// 15.0) and golang.org/x/text (Unicode 15.0 under Go 1.26, 17.0 from Go
// 1.27 on); the Rust library's crates carry tables of their own versions,
// so characters assigned in between can differ.

// parseNormalizer builds the normalizer of a tokenizer.json "normalizer"
// value. JSON null or an empty value is no normalizer: (nil, nil).
// Unknown types, unknown or repeated fields and fields of the wrong JSON
// type are errors naming them. BertNormalizer's flags may be absent (the
// Rust library's defaults: all true, strip_accents following lowercase);
// Strip's two flags and the string fields of the others are required.
func parseNormalizer(raw json.RawMessage, name string) (normalizer, error) {
	if isNull(raw) {
		return nil, nil
	}
	return parseNormalizerAt(raw, name, "normalizer", 0)
}

// maxNormalizerDepth bounds the nesting of Sequence normalizers.
const maxNormalizerDepth = 32

func parseNormalizerAt(raw json.RawMessage, name, path string, depth int) (normalizer, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("tokenizer: %s: %s: "+format, append([]any{name, path}, args...)...)
	}
	if depth > maxNormalizerDepth {
		return nil, bad("Sequence nested deeper than %d", maxNormalizerDepth)
	}
	obj, err := parseStrictObject(raw)
	if err != nil {
		return nil, bad("%v", err)
	}
	typ, err := obj.str("type")
	if err != nil {
		return nil, bad("%v", err)
	}
	fields := map[string][]string{
		"NFC": nil, "NFD": nil, "NFKC": nil, "NFKD": nil, "Lowercase": nil,
		"StripAccents": nil, "Nmt": nil, "ByteLevel": nil,
		"Strip":          {"strip_left", "strip_right"},
		"Replace":        {"pattern", "content"},
		"Prepend":        {"prepend"},
		"Sequence":       {"normalizers"},
		"BertNormalizer": {"clean_text", "handle_chinese_chars", "strip_accents", "lowercase"},
		"Precompiled":    {"precompiled_charsmap"},
	}
	allowed, known := fields[typ]
	if !known {
		return nil, bad("unsupported normalizer type %q", typ)
	}
	if err := obj.only(append([]string{"type"}, allowed...)...); err != nil {
		return nil, bad("%s: %v", typ, err)
	}
	fail := func(err error) (normalizer, error) { return nil, bad("%s: %v", typ, err) }
	switch typ {
	case "NFC":
		return normForm{norm.NFC}, nil
	case "NFD":
		return normForm{norm.NFD}, nil
	case "NFKC":
		return normForm{norm.NFKC}, nil
	case "NFKD":
		return normForm{norm.NFKD}, nil
	case "Lowercase":
		return normLowercase{}, nil
	case "StripAccents":
		return normStripAccents{}, nil
	case "Nmt":
		return normNmt{}, nil
	case "ByteLevel":
		return normByteLevel{}, nil
	case "Strip":
		var st normStrip
		if st.left, err = obj.flag("strip_left"); err != nil {
			return fail(err)
		}
		if st.right, err = obj.flag("strip_right"); err != nil {
			return fail(err)
		}
		return st, nil
	case "Prepend":
		s, err := obj.str("prepend")
		if err != nil {
			return fail(err)
		}
		return normPrepend{s}, nil
	case "Replace":
		return parseReplaceNorm(obj, fail)
	case "BertNormalizer":
		var bn normBert
		if bn.cleanText, err = obj.boolean("clean_text", true); err != nil {
			return fail(err)
		}
		if bn.chinese, err = obj.boolean("handle_chinese_chars", true); err != nil {
			return fail(err)
		}
		if bn.lower, err = obj.boolean("lowercase", true); err != nil {
			return fail(err)
		}
		// strip_accents null or absent: strip when lowercasing.
		if bn.stripAccents, err = obj.boolean("strip_accents", bn.lower); err != nil {
			return fail(err)
		}
		return bn, nil
	case "Precompiled":
		s, err := obj.str("precompiled_charsmap")
		if err != nil {
			return fail(err)
		}
		data, err := decodeCharsmap(s)
		if err != nil {
			return fail(fmt.Errorf("precompiled_charsmap: %v", err))
		}
		p, err := parsePrecompiledCharsmap(data)
		if err != nil {
			return fail(fmt.Errorf("precompiled_charsmap: %v", err))
		}
		return p, nil
	}
	// Sequence
	list, ok := obj.vals["normalizers"]
	if !ok {
		return fail(fmt.Errorf("no field \"normalizers\""))
	}
	var items []json.RawMessage
	if err := json.Unmarshal(list, &items); err != nil || isNull(list) {
		return fail(fmt.Errorf("\"normalizers\" is not a list"))
	}
	seq := make(normSequence, 0, len(items))
	for i, it := range items {
		n, err := parseNormalizerAt(it, name, fmt.Sprintf("%s.normalizers[%d]", path, i), depth+1)
		if err != nil {
			return nil, err
		}
		seq = append(seq, n)
	}
	return seq, nil
}

func parseReplaceNorm(obj *strictObject, fail func(error) (normalizer, error)) (normalizer, error) {
	content, err := obj.str("content")
	if err != nil {
		return fail(err)
	}
	raw, ok := obj.vals["pattern"]
	if !ok {
		return fail(fmt.Errorf("no field \"pattern\""))
	}
	pat, err := parseStrictObject(raw)
	if err != nil {
		return fail(fmt.Errorf("pattern: %v", err))
	}
	if len(pat.keys) != 1 {
		return fail(fmt.Errorf("pattern must be {\"String\": ...} or {\"Regex\": ...}"))
	}
	switch pat.keys[0] {
	case "String":
		s, err := pat.str("String")
		if err != nil {
			return fail(fmt.Errorf("pattern: %v", err))
		}
		if s == "" {
			return fail(fmt.Errorf("pattern: the String is empty"))
		}
		return normReplace{s, content}, nil
	case "Regex":
		s, err := pat.str("Regex")
		if err != nil {
			return fail(fmt.Errorf("pattern: %v", err))
		}
		re, err := plainReplaceRegex(s)
		if err != nil {
			return fail(fmt.Errorf("pattern: Regex %q: %v", s, err))
		}
		if strings.Contains(content, "$") {
			return fail(fmt.Errorf("content %q: group references in the replacement of a Regex are not supported", content))
		}
		return normReplaceRegex{re, content}, nil
	}
	return fail(fmt.Errorf("pattern: unknown kind %q (String or Regex)", pat.keys[0]))
}

// plainReplaceRegex compiles a Replace Regex when it is one that Go's regexp
// and the Oniguruma engine of the Rust library match alike: literals,
// bracketed classes of literal characters, '.', grouping, alternation and
// repetition, with no escape of a letter (\s, \d, \w, \b and \p differ
// between the two engines), no flags, no anchors, and no empty match.
// T5-style files use " {2,}". Others are refused by name.
func plainReplaceRegex(s string) (*regexp.Regexp, error) {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '\\' {
			if c := s[i+1]; c < utf8.RuneSelf && unicode.IsLetter(rune(c)) {
				return nil, fmt.Errorf("escape \\%c is not supported", c)
			}
			i++
		}
	}
	if strings.Contains(s, "(?") {
		return nil, fmt.Errorf("groups with flags or names are not supported")
	}
	tree, err := syntax.Parse(s, syntax.Perl)
	if err != nil {
		return nil, err
	}
	var check func(*syntax.Regexp) error
	check = func(r *syntax.Regexp) error {
		switch r.Op {
		case syntax.OpLiteral, syntax.OpCharClass, syntax.OpAnyCharNotNL, syntax.OpConcat,
			syntax.OpAlternate, syntax.OpCapture, syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		default:
			return fmt.Errorf("%s is not supported", r.Op)
		}
		for _, sub := range r.Sub {
			if err := check(sub); err != nil {
				return err
			}
		}
		return nil
	}
	if err := check(tree); err != nil {
		return nil, err
	}
	re, err := regexp.Compile(s)
	if err != nil {
		return nil, err
	}
	if re.MatchString("") {
		return nil, fmt.Errorf("a pattern that matches the empty string is not supported")
	}
	return re, nil
}

// normForm is NFC, NFD, NFKC or NFKD (golang.org/x/text/unicode/norm,
// Unicode 15.0). Bytes that are not valid UTF-8 are kept as they are.
type normForm struct{ form norm.Form }

func (u normForm) normalize(s string) string { return u.form.String(s) }

// normLowercase is Rust's char::to_lowercase applied to each character, as
// the library's NormalizedString::lowercase does: the full Unicode
// lowercase mapping, so 'İ' (U+0130) becomes "i̇" (U+0069 U+0307), and no
// context: 'Σ' always becomes 'σ', also at the end of a word, where
// Rust's str::to_lowercase (and JavaScript's toLowerCase) would write
// 'ς'. Bytes that are not valid UTF-8 are kept.
type normLowercase struct{}

func (normLowercase) normalize(s string) string {
	return normMapRunes(s, func(b *strings.Builder, r rune) {
		if r == 'İ' {
			b.WriteString("i\u0307")
			return
		}
		b.WriteRune(unicode.ToLower(r))
	})
}

// normMapRunes rebuilds s with f writing the replacement of each valid
// character; bytes that are not valid UTF-8 are copied.
func normMapRunes(s string, f func(b *strings.Builder, r rune)) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && w == 1 {
			b.WriteByte(s[i])
		} else {
			f(&b, r)
		}
		i += w
	}
	return b.String()
}

// normStrip removes leading and/or trailing whitespace: characters with the
// Unicode White_Space property, Rust's char::is_whitespace (Go's
// unicode.IsSpace is the same set). A byte that is not valid UTF-8 is not
// whitespace.
type normStrip struct{ left, right bool }

func (st normStrip) normalize(s string) string {
	if st.left {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
	}
	if st.right {
		s = strings.TrimRightFunc(s, unicode.IsSpace)
	}
	return s
}

// normStripAccents removes every combining mark, General_Category M (Mn, Mc
// and Me), as the library's StripAccents does through
// unicode_normalization's is_combining_mark. It does not decompose first:
// a precomposed 'é' stays unless an NFD or NFKD ran before. Bytes that are
// not valid UTF-8 are kept.
type normStripAccents struct{}

func (normStripAccents) normalize(s string) string {
	return normMapRunes(s, func(b *strings.Builder, r rune) {
		if !unicode.Is(unicode.M, r) {
			b.WriteRune(r)
		}
	})
}

// normNmt is the Nmt normalizer: it removes the ASCII and C1 control
// characters SentencePiece's nmt_nfkc removes and turns some other
// characters into a space. Bytes that are not valid UTF-8 are kept.
type normNmt struct{}

func (normNmt) normalize(s string) string {
	return normMapRunes(s, func(b *strings.Builder, r rune) {
		switch {
		case r >= 0x01 && r <= 0x08, r == 0x0B, r >= 0x0E && r <= 0x1F, r == 0x7F, r == 0x8F, r == 0x9F:
		case r == 0x09, r == 0x0A, r == 0x0C, r == 0x0D, r == 0x1680, r >= 0x200B && r <= 0x200F,
			r == 0x2028, r == 0x2029, r == 0x2581, r == 0xFEFF, r == 0xFFFD:
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	})
}

// normByteLevel maps every byte to GPT-2's byte alphabet (byteToRune), as
// the ByteLevel normalizer does; a byte that is not valid UTF-8 is mapped
// like any other.
type normByteLevel struct{}

func (normByteLevel) normalize(s string) string {
	var b strings.Builder
	b.Grow(2 * len(s))
	for i := 0; i < len(s); i++ {
		b.WriteRune(byteToRune[s[i]])
	}
	return b.String()
}

// normPrepend puts a string in front of non-empty text.
type normPrepend struct{ s string }

func (p normPrepend) normalize(s string) string {
	if s == "" {
		return s
	}
	return p.s + s
}

// normReplace replaces every non-overlapping occurrence of a literal,
// leftmost first, as the Rust library's escaped regex does. The pattern is
// valid UTF-8, so a match never covers a byte that is not.
type normReplace struct{ old, new string }

func (r normReplace) normalize(s string) string { return strings.ReplaceAll(s, r.old, r.new) }

// normReplaceRegex replaces every leftmost-first, non-overlapping match of a
// plain pattern (see plainReplaceRegex) by a literal. Bytes that are not valid
// UTF-8 match only '.' and negated classes, as U+FFFD would.
type normReplaceRegex struct {
	re      *regexp.Regexp
	content string
}

func (r normReplaceRegex) normalize(s string) string {
	return r.re.ReplaceAllLiteralString(s, r.content)
}

// normSequence runs normalizers in order.
type normSequence []normalizer

func (q normSequence) normalize(s string) string {
	for _, n := range q {
		s = n.normalize(s)
	}
	return s
}

// normBert is BertNormalizer (tokenizers/src/normalizers/bert.rs), its
// steps in this order:
//
//   - clean_text: drop U+0000, U+FFFD and control characters (Cc, Cf and
//     Co, except tab, newline and carriage return), then turn whitespace
//     (tab, newline, carriage return and White_Space) into ' '. A byte
//     that is not valid UTF-8 is dropped, like the U+FFFD it decodes to.
//   - handle_chinese_chars: a space before and after each CJK ideograph
//     of BERT's ranges (U+4E00-9FFF, U+3400-4DBF, U+20000-2A6DF,
//     U+2A700-2B73F, U+2B740-2B81F, U+2B920-2CEAF, U+F900-FAFF,
//     U+2F800-2FA1F).
//   - strip_accents (null: as lowercase): NFD, then drop nonspacing marks
//     (Mn only).
//   - lowercase: as the Lowercase normalizer.
//
// Without clean_text, bytes that are not valid UTF-8 are kept.
type normBert struct {
	cleanText, chinese, stripAccents, lower bool
}

func (bn normBert) normalize(s string) string {
	if bn.cleanText {
		var b strings.Builder
		b.Grow(len(s))
		for _, r := range s { // invalid bytes range as U+FFFD
			switch {
			case r == 0 || r == utf8.RuneError || bertIsControl(r):
			case r == '\t' || r == '\n' || r == '\r' || unicode.IsSpace(r):
				b.WriteByte(' ')
			default:
				b.WriteRune(r)
			}
		}
		s = b.String()
	}
	if bn.chinese {
		s = normMapRunes(s, func(b *strings.Builder, r rune) {
			if bertIsChinese(r) {
				b.WriteByte(' ')
				b.WriteRune(r)
				b.WriteByte(' ')
			} else {
				b.WriteRune(r)
			}
		})
	}
	if bn.stripAccents {
		s = normMapRunes(norm.NFD.String(s), func(b *strings.Builder, r rune) {
			if !unicode.Is(unicode.Mn, r) {
				b.WriteRune(r)
			}
		})
	}
	if bn.lower {
		s = normLowercase{}.normalize(s)
	}
	return s
}

// bertIsControl is bert.rs is_control: categories Cc, Cf and Co (the
// unicode_categories crate's is_other), tab, newline and carriage return
// excepted.
func bertIsControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co)
}

func bertIsChinese(r rune) bool {
	return r >= 0x4E00 && r <= 0x9FFF || r >= 0x3400 && r <= 0x4DBF ||
		r >= 0x20000 && r <= 0x2A6DF || r >= 0x2A700 && r <= 0x2B73F ||
		r >= 0x2B740 && r <= 0x2B81F || r >= 0x2B920 && r <= 0x2CEAF ||
		r >= 0xF900 && r <= 0xFAFF || r >= 0x2F800 && r <= 0x2FA1F
}

// strictObject is a JSON object read without losing what encoding/json
// forgives: repeated keys are an error and the key order is kept.
type strictObject struct {
	keys []string
	vals map[string]json.RawMessage
}

func parseStrictObject(raw []byte) (*strictObject, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("not a JSON object")
	}
	o := &strictObject{vals: map[string]json.RawMessage{}}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("invalid JSON: %v", err)
		}
		k := kt.(string) // object keys are always strings
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("invalid JSON: %v", err)
		}
		if _, dup := o.vals[k]; dup {
			return nil, fmt.Errorf("repeated field %q", k)
		}
		o.keys = append(o.keys, k)
		o.vals[k] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data after the object")
	}
	return o, nil
}

// only reports the first field not among names.
func (o *strictObject) only(names ...string) error {
	for _, k := range o.keys {
		if !slices.Contains(names, k) {
			return fmt.Errorf("unknown field %q", k)
		}
	}
	return nil
}

// str returns a required string field.
func (o *strictObject) str(k string) (string, error) {
	v, ok := o.vals[k]
	if !ok {
		return "", fmt.Errorf("no field %q", k)
	}
	var s string
	if isNull(v) || json.Unmarshal(v, &s) != nil {
		return "", fmt.Errorf("field %q is not a string", k)
	}
	return s, nil
}

// flag returns a required bool field.
func (o *strictObject) flag(k string) (bool, error) {
	if _, ok := o.vals[k]; !ok {
		return false, fmt.Errorf("no field %q", k)
	}
	b, err := o.boolean(k, false)
	if err == nil && isNull(o.vals[k]) {
		err = fmt.Errorf("field %q is not true or false", k)
	}
	return b, err
}

// boolean returns a bool field; absent or null gives def.
func (o *strictObject) boolean(k string, def bool) (bool, error) {
	v, ok := o.vals[k]
	if !ok || isNull(v) {
		return def, nil
	}
	var b bool
	if json.Unmarshal(v, &b) != nil {
		return false, fmt.Errorf("field %q is not true or false", k)
	}
	return b, nil
}
