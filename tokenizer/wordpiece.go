package tokenizer

import (
	"fmt"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"
)

// WordPiece is BERT's tokenizer: BERT's basic tokenizer (cleaning,
// optional lower-casing and accent stripping, splitting on whitespace and
// punctuation, CJK characters as words of their own), then greedy
// longest-match-first WordPiece with a continuation prefix ("##").
type WordPiece struct {
	tokens   []string
	vocab    map[string]int
	prefix   string
	maxChars int
	unk      int
	cls, sep int
	special  []special

	cleanText, chineseChars, stripAccents, lower bool
	cleanup                                      bool // the decoder's cleanup of spaces before punctuation
}

// WordPieceOptions configures a WordPiece tokenizer read from a vocab.txt.
type WordPieceOptions struct {
	// Cased keeps case and accents (bert-base-cased). The default
	// lower-cases and strips accents (bert-base-uncased).
	Cased bool
}

// wordPieceSpecials are the tokens BERT treats as special when present.
var wordPieceSpecials = []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}

// LoadWordPiece reads a BERT vocab.txt: one token per line, the id being
// the line's index.
func LoadWordPiece(path string, opt WordPieceOptions) (*WordPiece, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return parseWordPiece(data, opt, path)
}

// ParseWordPiece is LoadWordPiece on the file's contents.
func ParseWordPiece(vocabTxt []byte, opt WordPieceOptions) (*WordPiece, error) {
	return parseWordPiece(vocabTxt, opt, "vocab.txt")
}

func parseWordPiece(data []byte, opt WordPieceOptions, name string) (*WordPiece, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("tokenizer: %s: not valid UTF-8", name)
	}
	lines := strings.Split(string(data), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for i := range lines {
		// BERT and Hugging Face both trim the line end.
		lines[i] = strings.TrimRightFunc(lines[i], unicode.IsSpace)
	}
	t, err := newWordPiece(lines, name)
	if err != nil {
		return nil, err
	}
	t.cleanText, t.chineseChars, t.cleanup = true, true, true
	t.lower, t.stripAccents = !opt.Cased, !opt.Cased
	if t.unk < 0 {
		return nil, fmt.Errorf("tokenizer: %s: no [UNK] token", name)
	}
	return t, nil
}

func newWordPiece(tokens []string, name string) (*WordPiece, error) {
	t := &WordPiece{tokens: tokens, vocab: make(map[string]int, len(tokens)), prefix: "##", maxChars: 100, unk: -1, cls: -1, sep: -1}
	for id, s := range tokens {
		if j, dup := t.vocab[s]; dup {
			return nil, fmt.Errorf("tokenizer: %s: duplicate token %q at ids %d and %d", name, s, j, id)
		}
		t.vocab[s] = id
	}
	for _, s := range wordPieceSpecials {
		if id, ok := t.vocab[s]; ok {
			t.special = append(t.special, special{s, id})
		}
	}
	t.unk, t.cls, t.sep = t.ID("[UNK]"), t.ID("[CLS]"), t.ID("[SEP]")
	return t, nil
}

// VocabSize is the number of ids.
func (t *WordPiece) VocabSize() int { return len(t.tokens) }

// BOS returns the id of [CLS], or -1.
func (t *WordPiece) BOS() int { return t.cls }

// EOS returns the id of [SEP], or -1.
func (t *WordPiece) EOS() int { return t.sep }

// ID returns the id of a token, or -1.
func (t *WordPiece) ID(token string) int {
	if id, ok := t.vocab[token]; ok {
		return id
	}
	return -1
}

// Token returns the vocab string of id.
func (t *WordPiece) Token(id int) (string, error) {
	if id < 0 || id >= len(t.tokens) {
		return "", errID(id, len(t.tokens))
	}
	return t.tokens[id], nil
}

// Encode encodes text without [CLS]/[SEP] and without recognising
// special-token strings.
func (t *WordPiece) Encode(text string) ([]int, error) {
	return t.EncodeWith(text, EncodeOptions{})
}

// EncodeWith encodes text; AddBOS and AddEOS add [CLS] and [SEP].
func (t *WordPiece) EncodeWith(text string, opt EncodeOptions) ([]int, error) {
	var ids []int
	if opt.AddBOS {
		if t.cls < 0 {
			return nil, fmt.Errorf("tokenizer: vocab has no [CLS]")
		}
		ids = append(ids, t.cls)
	}
	var err error
	ids, err = t.encodeText(ids, text, opt.Special)
	if err != nil {
		return nil, err
	}
	if opt.AddEOS {
		if t.sep < 0 {
			return nil, fmt.Errorf("tokenizer: vocab has no [SEP]")
		}
		ids = append(ids, t.sep)
	}
	return ids, nil
}

// EncodePair encodes a sentence pair as BERT expects it,
// [CLS] a [SEP] b [SEP], with the token type ids: 0 up to and including the
// first [SEP], 1 after it.
func (t *WordPiece) EncodePair(a, b string, opt EncodeOptions) (ids, typeIDs []int, err error) {
	if t.cls < 0 || t.sep < 0 {
		return nil, nil, fmt.Errorf("tokenizer: vocab lacks [CLS] or [SEP]")
	}
	ids = append(ids, t.cls)
	if ids, err = t.encodeText(ids, a, opt.Special); err != nil {
		return nil, nil, err
	}
	ids = append(ids, t.sep)
	n := len(ids)
	if ids, err = t.encodeText(ids, b, opt.Special); err != nil {
		return nil, nil, err
	}
	ids = append(ids, t.sep)
	typeIDs = make([]int, len(ids))
	for i := n; i < len(ids); i++ {
		typeIDs[i] = 1
	}
	return ids, typeIDs, nil
}

func (t *WordPiece) encodeText(ids []int, text string, specials bool) ([]int, error) {
	plain := func(s string) error {
		for _, w := range t.preTokenize(t.normalize(s)) {
			var err error
			if ids, err = t.encodeWord(ids, w); err != nil {
				return err
			}
		}
		return nil
	}
	if specials {
		err := splitSpecials(text, t.special, plain, func(id int) error { ids = append(ids, id); return nil })
		return ids, err
	}
	return ids, plain(text)
}

// normalize is BERT's normalizer: drop NUL, U+FFFD and control characters,
// turn whitespace into spaces, put spaces around CJK ideographs, then strip
// accents and lower-case when configured.
func (t *WordPiece) normalize(s string) string {
	var sb strings.Builder
	sb.Grow(len(s))
	for _, r := range s {
		if t.cleanText {
			if r == 0 || r == utf8.RuneError || isBertControl(r) {
				continue
			}
			if unicode.IsSpace(r) {
				r = ' '
			}
		}
		if t.chineseChars && isCJK(r) {
			sb.WriteByte(' ')
			sb.WriteRune(r)
			sb.WriteByte(' ')
			continue
		}
		sb.WriteRune(r)
	}
	out := sb.String()
	if t.stripAccents {
		out = stripAccents(out)
	}
	if t.lower {
		out = strings.Map(unicode.ToLower, out)
	}
	return out
}

func isBertControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	return unicode.In(r, unicode.C)
}

// isCJK covers the CJK Unified Ideographs blocks BERT lists; Hangul, kana
// and others are not in it, as in BERT.
func isCJK(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) || (r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) || (r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) || (r >= 0x2B820 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) || (r >= 0x2F800 && r <= 0x2FA1F)
}

func isBertPunct(r rune) bool {
	if (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126) {
		return true
	}
	return unicode.IsPunct(r)
}

// preTokenize splits on whitespace and makes each punctuation character a
// word of its own.
func (t *WordPiece) preTokenize(s string) []string {
	var words []string
	start := -1
	for i, r := range s {
		switch {
		case unicode.IsSpace(r):
			if start >= 0 {
				words = append(words, s[start:i])
				start = -1
			}
		case isBertPunct(r):
			if start >= 0 {
				words = append(words, s[start:i])
				start = -1
			}
			words = append(words, s[i:i+utf8.RuneLen(r)])
		default:
			if start < 0 {
				start = i
			}
		}
	}
	if start >= 0 {
		words = append(words, s[start:])
	}
	return words
}

// encodeWord is greedy longest-match-first: the longest vocab entry that
// starts the word, then the longest "##" entry that continues it, and so
// on. A word that cannot be covered, or that has more than maxChars
// characters, is a single [UNK].
func (t *WordPiece) encodeWord(ids []int, w string) ([]int, error) {
	unk := func() ([]int, error) {
		if t.unk < 0 {
			return ids, fmt.Errorf("tokenizer: word %q cannot be encoded and the vocab has no unk token", w)
		}
		return append(ids, t.unk), nil
	}
	if utf8.RuneCountInString(w) > t.maxChars {
		return unk()
	}
	n := len(ids)
	for start := 0; start < len(w); {
		end := len(w)
		found := -1
		for end > start {
			sub := w[start:end]
			if start > 0 {
				sub = t.prefix + sub
			}
			if id, ok := t.vocab[sub]; ok {
				found = id
				break
			}
			_, sz := utf8.DecodeLastRuneInString(w[start:end])
			end -= sz
		}
		if found < 0 {
			ids = ids[:n]
			return unk()
		}
		ids = append(ids, found)
		start = end
	}
	return ids, nil
}

// Decode is Hugging Face's WordPiece decoder: tokens are joined with
// spaces, a continuation token loses its prefix and joins the previous one
// instead, and (with cleanup) a few spaces before punctuation and
// contractions are removed. Special tokens decode to their text.
func (t *WordPiece) Decode(ids []int) (string, error) { return decodeAll(t, ids) }

func (t *WordPiece) appendToken(dst []byte, st decodeState, id int) ([]byte, error) {
	if id < 0 || id >= len(t.tokens) {
		return dst, errID(id, len(t.tokens))
	}
	tok := t.tokens[id]
	if st.prev >= 0 {
		if t.prefix != "" && strings.HasPrefix(tok, t.prefix) {
			tok = tok[len(t.prefix):]
		} else {
			tok = " " + tok
		}
	}
	if t.cleanup {
		tok = wordPieceCleanup(tok)
	}
	return append(dst, tok...), nil
}

var cleanupReplacer = []struct{ from, to string }{
	{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
	{" n't", "n't"}, {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"},
	{" 've", "'ve"}, {" 're", "'re"},
}

// wordPieceCleanup applies the replacements in Hugging Face's order; they
// run on one token at a time there, as here.
func wordPieceCleanup(s string) string {
	for _, r := range cleanupReplacer {
		s = strings.ReplaceAll(s, r.from, r.to)
	}
	return s
}

// stripAccents removes accents the way NFD followed by dropping
// non-spacing marks would, for the characters it knows: Latin-1
// Supplement and Latin Extended-A (by table), precomposed Hangul (by
// algorithm) and combining marks already in the text (category Mn).
// Other precomposed characters (Vietnamese, Greek with tonos, ...) keep
// their accents.
func stripAccents(s string) string {
	var sb strings.Builder
	sb.Grow(len(s))
	for _, r := range s {
		switch {
		case r >= 0xAC00 && r <= 0xD7A3:
			writeHangulNFD(&sb, r)
		case unicode.Is(unicode.Mn, r):
		default:
			if b, ok := accentBase[r]; ok {
				r = b
			}
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

// writeHangulNFD writes the canonical decomposition of a precomposed
// Hangul syllable into its conjoining jamo (Unicode 3.12).
func writeHangulNFD(sb *strings.Builder, r rune) {
	s := r - 0xAC00
	sb.WriteRune(0x1100 + s/(21*28))
	sb.WriteRune(0x1161 + (s%(21*28))/28)
	if t := s % 28; t != 0 {
		sb.WriteRune(0x11A7 + t)
	}
}

// accentBase maps each character of U+00C0..U+017F whose canonical
// decomposition is a base letter plus combining marks to that base letter.
var accentBase = map[rune]rune{
	0x00C0: 'A', 0x00C1: 'A', 0x00C2: 'A', 0x00C3: 'A', 0x00C4: 'A', 0x00C5: 'A',
	0x00C7: 'C', 0x00C8: 'E', 0x00C9: 'E', 0x00CA: 'E', 0x00CB: 'E', 0x00CC: 'I',
	0x00CD: 'I', 0x00CE: 'I', 0x00CF: 'I', 0x00D1: 'N', 0x00D2: 'O', 0x00D3: 'O',
	0x00D4: 'O', 0x00D5: 'O', 0x00D6: 'O', 0x00D9: 'U', 0x00DA: 'U', 0x00DB: 'U',
	0x00DC: 'U', 0x00DD: 'Y', 0x00E0: 'a', 0x00E1: 'a', 0x00E2: 'a', 0x00E3: 'a',
	0x00E4: 'a', 0x00E5: 'a', 0x00E7: 'c', 0x00E8: 'e', 0x00E9: 'e', 0x00EA: 'e',
	0x00EB: 'e', 0x00EC: 'i', 0x00ED: 'i', 0x00EE: 'i', 0x00EF: 'i', 0x00F1: 'n',
	0x00F2: 'o', 0x00F3: 'o', 0x00F4: 'o', 0x00F5: 'o', 0x00F6: 'o', 0x00F9: 'u',
	0x00FA: 'u', 0x00FB: 'u', 0x00FC: 'u', 0x00FD: 'y', 0x00FF: 'y', 0x0100: 'A',
	0x0101: 'a', 0x0102: 'A', 0x0103: 'a', 0x0104: 'A', 0x0105: 'a', 0x0106: 'C',
	0x0107: 'c', 0x0108: 'C', 0x0109: 'c', 0x010A: 'C', 0x010B: 'c', 0x010C: 'C',
	0x010D: 'c', 0x010E: 'D', 0x010F: 'd', 0x0112: 'E', 0x0113: 'e', 0x0114: 'E',
	0x0115: 'e', 0x0116: 'E', 0x0117: 'e', 0x0118: 'E', 0x0119: 'e', 0x011A: 'E',
	0x011B: 'e', 0x011C: 'G', 0x011D: 'g', 0x011E: 'G', 0x011F: 'g', 0x0120: 'G',
	0x0121: 'g', 0x0122: 'G', 0x0123: 'g', 0x0124: 'H', 0x0125: 'h', 0x0128: 'I',
	0x0129: 'i', 0x012A: 'I', 0x012B: 'i', 0x012C: 'I', 0x012D: 'i', 0x012E: 'I',
	0x012F: 'i', 0x0130: 'I', 0x0134: 'J', 0x0135: 'j', 0x0136: 'K', 0x0137: 'k',
	0x0139: 'L', 0x013A: 'l', 0x013B: 'L', 0x013C: 'l', 0x013D: 'L', 0x013E: 'l',
	0x0143: 'N', 0x0144: 'n', 0x0145: 'N', 0x0146: 'n', 0x0147: 'N', 0x0148: 'n',
	0x014C: 'O', 0x014D: 'o', 0x014E: 'O', 0x014F: 'o', 0x0150: 'O', 0x0151: 'o',
	0x0154: 'R', 0x0155: 'r', 0x0156: 'R', 0x0157: 'r', 0x0158: 'R', 0x0159: 'r',
	0x015A: 'S', 0x015B: 's', 0x015C: 'S', 0x015D: 's', 0x015E: 'S', 0x015F: 's',
	0x0160: 'S', 0x0161: 's', 0x0162: 'T', 0x0163: 't', 0x0164: 'T', 0x0165: 't',
	0x0168: 'U', 0x0169: 'u', 0x016A: 'U', 0x016B: 'u', 0x016C: 'U', 0x016D: 'u',
	0x016E: 'U', 0x016F: 'u', 0x0170: 'U', 0x0171: 'u', 0x0172: 'U', 0x0173: 'u',
	0x0174: 'W', 0x0175: 'w', 0x0176: 'Y', 0x0177: 'y', 0x0178: 'Y', 0x0179: 'Z',
	0x017A: 'z', 0x017B: 'Z', 0x017C: 'z', 0x017D: 'Z', 0x017E: 'z',
}
