package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// decoder is a tokenizer.json decoder: it rewrites the list of token
// strings, as Hugging Face's decode_chain does, and the results are
// concatenated. Strings may hold any bytes: ByteLevel and ByteFallback
// produce the bytes the tokens stand for, valid UTF-8 or not.
type decoder interface {
	decodeChain(tokens []string) []string
}

type hfDecoder struct {
	Type          string          `json:"type"`
	Decoders      []hfDecoderRaw  `json:"decoders"`
	Replacement   *string         `json:"replacement"`
	PrependScheme *string         `json:"prepend_scheme"`
	AddPrefix     *bool           `json:"add_prefix_space"`
	Split         *bool           `json:"split"`
	Prefix        *string         `json:"prefix"`
	Cleanup       *bool           `json:"cleanup"`
	Pattern       json.RawMessage `json:"pattern"`
	Content       json.RawMessage `json:"content"`
	Start         *int            `json:"start"`
	Stop          *int            `json:"stop"`
	Suffix        *string         `json:"suffix"`
	TrimOffsets   *bool           `json:"trim_offsets"`
	UseRegex      *bool           `json:"use_regex"`
}

type hfDecoderRaw = json.RawMessage

// parseDecoder builds the decoder of a tokenizer.json; JSON null is nil
// (tokens are then joined with spaces, as Hugging Face does).
func parseDecoder(raw json.RawMessage, name string) (decoder, error) {
	if isNull(raw) {
		return nil, nil
	}
	var d hfDecoder
	if err := unmarshalKnown(raw, &d); err != nil {
		return nil, fmt.Errorf("tokenizer: %s: decoder: %v", name, err)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("tokenizer: %s: decoder %s: "+format, append([]any{name, d.Type}, args...)...)
	}
	switch d.Type {
	case "Sequence":
		var seq seqDecoder
		for _, r := range d.Decoders {
			s, err := parseDecoder(r, name)
			if err != nil {
				return nil, err
			}
			if s != nil {
				seq = append(seq, s)
			}
		}
		return seq, nil
	case "ByteLevel":
		return byteLevelDecoder{}, nil
	case "ByteFallback":
		return byteFallbackDecoder{}, nil
	case "Fuse":
		return fuseDecoder{}, nil
	case "Metaspace":
		m := metaspaceDecoder{replacement: '▁', strip: true}
		if d.Replacement != nil {
			r, w := utf8.DecodeRuneInString(*d.Replacement)
			if w == 0 || w != len(*d.Replacement) || r == utf8.RuneError {
				return nil, bad("replacement %q is not one character", *d.Replacement)
			}
			m.replacement = r
		}
		if d.AddPrefix != nil {
			m.strip = *d.AddPrefix
		}
		if d.PrependScheme != nil {
			switch *d.PrependScheme {
			case "always", "first":
				m.strip = true
			case "never":
				m.strip = false
			default:
				return nil, bad("unknown prepend_scheme %q", *d.PrependScheme)
			}
		}
		return m, nil
	case "WordPiece":
		w := wordPieceDecoder{prefix: "##", cleanup: true}
		if d.Prefix != nil {
			w.prefix = *d.Prefix
		}
		if d.Cleanup != nil {
			w.cleanup = *d.Cleanup
		}
		return w, nil
	case "BPEDecoder":
		b := bpeDecoder{suffix: "</w>"}
		if d.Suffix != nil {
			b.suffix = *d.Suffix
		}
		return b, nil
	case "Replace":
		from, err := stringPattern(d.Pattern)
		if err != nil {
			return nil, bad("%v", err)
		}
		var to string
		if err := json.Unmarshal(d.Content, &to); err != nil {
			return nil, bad("content is not a string")
		}
		return replaceDecoder{from, to}, nil
	case "Strip":
		var content string
		if err := json.Unmarshal(d.Content, &content); err != nil {
			return nil, bad("content is not a string")
		}
		r, w := utf8.DecodeRuneInString(content)
		if w == 0 || w != len(content) {
			return nil, bad("content %q is not one character", content)
		}
		s := stripDecoder{content: r}
		if d.Start != nil {
			s.start = *d.Start
		}
		if d.Stop != nil {
			s.stop = *d.Stop
		}
		if s.start < 0 || s.stop < 0 {
			return nil, bad("negative start or stop")
		}
		return s, nil
	case "":
		return nil, fmt.Errorf("tokenizer: %s: decoder has no type", name)
	}
	return nil, fmt.Errorf("tokenizer: %s: decoder %q is not supported", name, d.Type)
}

// stringPattern reads a {"String": s} pattern; a {"Regex": r} one is
// refused by name.
func stringPattern(raw json.RawMessage) (string, error) {
	var p struct {
		String *string `json:"String"`
		Regex  *string `json:"Regex"`
	}
	if err := unmarshalKnown(raw, &p); err != nil {
		return "", fmt.Errorf("pattern: %v", err)
	}
	switch {
	case p.Regex != nil:
		return "", fmt.Errorf("a Regex pattern (%q) is not supported here", *p.Regex)
	case p.String == nil:
		return "", fmt.Errorf("pattern has neither String nor Regex")
	case *p.String == "":
		return "", fmt.Errorf("pattern is empty")
	}
	return *p.String, nil
}

type seqDecoder []decoder

func (s seqDecoder) decodeChain(tokens []string) []string {
	for _, d := range s {
		tokens = d.decodeChain(tokens)
	}
	return tokens
}

// byteLevelDecoder maps each token's characters back to bytes through
// GPT-2's table; a token with a character outside the table (an added
// token) stands for its own bytes. Hugging Face then replaces invalid
// UTF-8 by U+FFFD; the bytes are kept here.
type byteLevelDecoder struct{}

func (byteLevelDecoder) decodeChain(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		out[i] = string(byteLevelDecode(t))
	}
	return out
}

// byteFallbackDecoder turns "<0xHH>" tokens into their byte.
type byteFallbackDecoder struct{}

func (byteFallbackDecoder) decodeChain(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		if b, ok := parseByteToken(t); ok {
			out[i] = string([]byte{b})
		} else {
			out[i] = t
		}
	}
	return out
}

type fuseDecoder struct{}

func (fuseDecoder) decodeChain(tokens []string) []string {
	return []string{strings.Join(tokens, "")}
}

// metaspaceDecoder turns the replacement character back into spaces; in
// the first token it is dropped instead when the pre-tokenizer prepends
// one (every occurrence there, as Hugging Face does).
type metaspaceDecoder struct {
	replacement rune
	strip       bool
}

func (m metaspaceDecoder) decodeChain(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		if !strings.ContainsRune(t, m.replacement) {
			out[i] = t
			continue
		}
		with := " "
		if i == 0 && m.strip {
			with = ""
		}
		out[i] = strings.ReplaceAll(t, string(m.replacement), with)
	}
	return out
}

// wordPieceDecoder joins continuation pieces to the previous token and
// puts a space before the others; cleanup removes spaces before
// punctuation and contractions.
type wordPieceDecoder struct {
	prefix  string
	cleanup bool
}

func (w wordPieceDecoder) decodeChain(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		if i > 0 {
			if strings.HasPrefix(t, w.prefix) {
				t = t[len(w.prefix):]
			} else {
				t = " " + t
			}
		}
		if w.cleanup {
			t = wordPieceCleanup(t)
		}
		out[i] = t
	}
	return out
}

// bpeDecoder replaces the end-of-word suffix by a space, except on the
// last token.
type bpeDecoder struct{ suffix string }

func (b bpeDecoder) decodeChain(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		with := " "
		if i == len(tokens)-1 {
			with = ""
		}
		out[i] = strings.ReplaceAll(t, b.suffix, with)
	}
	return out
}

type replaceDecoder struct{ from, to string }

func (r replaceDecoder) decodeChain(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		out[i] = strings.ReplaceAll(t, r.from, r.to)
	}
	return out
}

// stripDecoder removes up to start leading and stop trailing copies of
// content from every token.
type stripDecoder struct {
	content     rune
	start, stop int
}

func (s stripDecoder) decodeChain(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		for k := 0; k < s.start; k++ {
			r, w := utf8.DecodeRuneInString(t)
			if w == 0 || r != s.content || r == utf8.RuneError && w == 1 {
				break
			}
			t = t[w:]
		}
		for k := 0; k < s.stop; k++ {
			r, w := utf8.DecodeLastRuneInString(t)
			if w == 0 || r != s.content || r == utf8.RuneError && w == 1 {
				break
			}
			t = t[:len(t)-w]
		}
		out[i] = t
	}
	return out
}

// metaSpace is SentencePiece's stand-in for a space, U+2581.
const metaSpace = "\u2581"

// parseByteToken reads a "<0xHH>" token as Hugging Face's ByteFallback
// decoder does (u8::from_str_radix on the two characters after "<0x",
// which also takes a leading '+').
func parseByteToken(s string) (byte, bool) {
	if len(s) != 6 || !strings.HasPrefix(s, "<0x") || s[5] != '>' {
		return 0, false
	}
	h, ok1 := hexVal(s[3])
	l, ok2 := hexVal(s[4])
	if s[3] == '+' && ok2 {
		return l, true
	}
	if !ok1 || !ok2 {
		return 0, false
	}
	return h<<4 | l, true
}
