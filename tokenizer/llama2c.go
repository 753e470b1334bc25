package tokenizer

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"strings"
)

// Llama2c is the tokenizer of karpathy/llama2.c: a tokenizer.bin holding
// int32 max_token_length, then per token a float32 score, an int32 length
// and that many bytes (all little-endian). Encoding and decoding follow
// run.c's encode() and decode() exactly; see the package documentation for
// the one deliberate difference (text containing NUL bytes).
type Llama2c struct {
	pieces []string
	scores []float32
	maxLen int
	lookup map[string]int
}

// llama2.c's fixed special ids.
const (
	llama2cBOS = 1
	llama2cEOS = 2
)

// run.c starts its search for the best merge from this score, so a merge
// scored at or below it never happens.
const llama2cMinScore = float32(-1e10)

// LoadLlama2c reads a llama2.c tokenizer.bin holding exactly vocabSize
// tokens (the vocab_size of the model it belongs to).
func LoadLlama2c(path string, vocabSize int) (*Llama2c, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return parseLlama2c(data, vocabSize, path)
}

// ParseLlama2c parses the contents of a llama2.c tokenizer.bin holding
// exactly vocabSize tokens.
func ParseLlama2c(data []byte, vocabSize int) (*Llama2c, error) {
	return parseLlama2c(data, vocabSize, "tokenizer.bin data")
}

func parseLlama2c(data []byte, vocabSize int, name string) (*Llama2c, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("tokenizer: %s: "+format, append([]any{name}, args...)...)
	}
	if vocabSize <= 0 {
		return nil, bad("vocab size %d must be positive", vocabSize)
	}
	if len(data) < 4 {
		return nil, bad("truncated: %d bytes, too short for the max_token_length header", len(data))
	}
	maxLen := int64(int32(binary.LittleEndian.Uint32(data)))
	if maxLen < 0 || maxLen > int64(len(data)) {
		return nil, bad("max_token_length %d is negative or larger than the file", maxLen)
	}
	// Every record takes at least 8 bytes; checking this first keeps the
	// allocations below proportional to the file.
	if int64(vocabSize) > int64(len(data)-4)/8 {
		return nil, bad("vocab size %d does not fit: %d bytes hold at most %d tokens", vocabSize, len(data), (len(data)-4)/8)
	}
	t := &Llama2c{
		pieces: make([]string, vocabSize),
		scores: make([]float32, vocabSize),
		maxLen: int(maxLen),
		lookup: make(map[string]int, vocabSize),
	}
	off := 4
	for i := range vocabSize {
		if len(data)-off < 8 {
			return nil, bad("truncated at token %d (offset %d): %d bytes left, need 8 for score and length", i, off, len(data)-off)
		}
		t.scores[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[off:]))
		n := int64(int32(binary.LittleEndian.Uint32(data[off+4:])))
		off += 8
		if n < 0 {
			return nil, bad("token %d has negative length %d", i, n)
		}
		if n > maxLen {
			// run.c sizes its merge buffer from max_token_length.
			return nil, bad("token %d has length %d, more than max_token_length %d", i, n, maxLen)
		}
		if n > int64(len(data)-off) {
			return nil, bad("truncated in token %d: length %d, %d bytes left", i, n, len(data)-off)
		}
		p := string(data[off : off+int(n)])
		off += int(n)
		if strings.IndexByte(p, 0) >= 0 {
			// run.c handles pieces as C strings; a NUL would silently cut it.
			return nil, bad("token %d %q contains a NUL byte", i, p)
		}
		if j, dup := t.lookup[p]; dup {
			return nil, bad("duplicate token %q at ids %d and %d", p, j, i)
		}
		t.pieces[i] = p
		t.lookup[p] = i
	}
	if off != len(data) {
		return nil, bad("vocab size mismatch: %d bytes remain after %d tokens", len(data)-off, vocabSize)
	}
	return t, nil
}

// VocabSize is the number of tokens.
func (t *Llama2c) VocabSize() int { return len(t.pieces) }

// MaxTokenLength is the file's max_token_length header.
func (t *Llama2c) MaxTokenLength() int { return t.maxLen }

// BOS is 1, llama2.c's beginning-of-sequence id, or -1 if the vocab is too
// small to have it.
func (t *Llama2c) BOS() int { return t.special(llama2cBOS) }

// EOS is 2, llama2.c's end-of-sequence id, or -1 if the vocab is too small.
func (t *Llama2c) EOS() int { return t.special(llama2cEOS) }

func (t *Llama2c) special(id int) int {
	if id < len(t.pieces) {
		return id
	}
	return -1
}

// Token returns the raw piece of id and its score.
func (t *Llama2c) Token(id int) (piece string, score float32, err error) {
	if id < 0 || id >= len(t.pieces) {
		return "", 0, errID(id, len(t.pieces))
	}
	return t.pieces[id], t.scores[id], nil
}

// ID returns the id of a piece, or -1.
func (t *Llama2c) ID(piece string) int {
	if id, ok := t.lookup[piece]; ok {
		return id
	}
	return -1
}

// Encode is run.c's encode(text, bos=0, eos=0).
func (t *Llama2c) Encode(text string) ([]int, error) {
	return t.EncodeWith(text, EncodeOptions{})
}

// EncodeWith is run.c's encode with its bos and eos flags. A llama2.c
// tokenizer has no special-token strings, so opt.Special changes nothing.
func (t *Llama2c) EncodeWith(text string, opt EncodeOptions) ([]int, error) {
	ids := make([]int, 0, len(text)+3)
	if opt.AddBOS {
		if t.BOS() < 0 {
			return nil, fmt.Errorf("tokenizer: vocab of %d tokens has no BOS id %d", len(t.pieces), llama2cBOS)
		}
		ids = append(ids, llama2cBOS)
	}
	if text != "" {
		// run.c's add_dummy_prefix: a " " token before the text. run.c
		// would store -1 when the vocab has no " "; that is an error here.
		sp, ok := t.lookup[" "]
		if !ok {
			return nil, fmt.Errorf("tokenizer: llama2.c vocab has no \" \" token for the dummy prefix")
		}
		ids = append(ids, sp)
	}
	// run.c's grouping: a byte plus up to three following continuation
	// bytes, so stray continuation bytes form groups of their own.
	for i := 0; i < len(text); {
		j := i + 1
		for j < len(text) && text[j]&0xC0 == 0x80 && j-i < 4 {
			j++
		}
		if id, ok := t.lookup[text[i:j]]; ok {
			ids = append(ids, id)
		} else {
			for k := i; k < j; k++ {
				id := int(text[k]) + 3
				if id >= len(t.pieces) {
					return nil, fmt.Errorf("tokenizer: byte 0x%02x needs byte-fallback id %d, beyond the vocab of %d tokens", text[k], id, len(t.pieces))
				}
				ids = append(ids, id)
			}
		}
		i = j
	}
	// run.c merges over the whole array, BOS included: a BOS whose piece
	// concatenates with its neighbour into a vocab entry merges too.
	ids = applyMerges(ids, t.merge)
	return t.finish(ids, opt)
}

func (t *Llama2c) finish(ids []int, opt EncodeOptions) ([]int, error) {
	if opt.AddEOS {
		if t.EOS() < 0 {
			return nil, fmt.Errorf("tokenizer: vocab of %d tokens has no EOS id %d", len(t.pieces), llama2cEOS)
		}
		ids = append(ids, llama2cEOS)
	}
	return ids, nil
}

func (t *Llama2c) merge(a, b int) (int, float64, bool) {
	id, ok := t.lookup[t.pieces[a]+t.pieces[b]]
	if !ok {
		return 0, 0, false
	}
	s := t.scores[id]
	if !(s > llama2cMinScore) { // also false for NaN, as in run.c
		return 0, 0, false
	}
	return id, -float64(s), true
}

// Decode applies run.c's decode() to each id with the id before it (none
// for the first), so a token following BOS loses a leading space, and
// concatenates the pieces. BOS and EOS decode to their pieces.
func (t *Llama2c) Decode(ids []int) (string, error) { return decodeAll(t, ids) }

func (t *Llama2c) appendToken(dst []byte, st decodeState, id int) ([]byte, error) {
	p, err := t.Piece(st.prev, id)
	if err != nil {
		return dst, err
	}
	return append(dst, p...), nil
}

// Piece is run.c's decode(prev, id): the piece of id, without its leading
// space when prev is BOS (1), and a piece that sscanf reads as
// "<0x%02hhX>" becomes that single byte. prev may be -1 for none.
func (t *Llama2c) Piece(prev, id int) (string, error) {
	if id < 0 || id >= len(t.pieces) {
		return "", errID(id, len(t.pieces))
	}
	p := t.pieces[id]
	if prev == llama2cBOS && p != "" && p[0] == ' ' {
		p = p[1:]
	}
	if b, ok := scanHexByte(p); ok {
		return string([]byte{b}), nil
	}
	return p, nil
}

// scanHexByte models glibc's sscanf(p, "<0x%02hhX>", &b) == 1: after the
// literal "<0x", whitespace is skipped, then at most two characters are
// read as a hexadecimal integer with an optional sign and an optional
// "0x" prefix; the trailing '>' is not needed for the conversion to count.
// Real vocabularies only hold the plain form "<0xHH>".
func scanHexByte(p string) (byte, bool) {
	if !strings.HasPrefix(p, "<0x") {
		return 0, false
	}
	s := p[3:]
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	width := 2
	neg, digits := false, 0
	var v uint64
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
		width--
	}
	if width > 0 && i < len(s) && s[i] == '0' {
		digits++ // the '0' counts as a digit even if an 'x' follows
		i++
		width--
		if width > 0 && i < len(s) && (s[i] == 'x' || s[i] == 'X') {
			i++
			width--
		}
	}
	for width > 0 && i < len(s) {
		d, ok := hexVal(s[i])
		if !ok {
			break
		}
		v = v*16 + uint64(d)
		digits++
		i++
		width--
	}
	if digits == 0 {
		return 0, false
	}
	if neg {
		v = -v
	}
	return byte(v), true
}

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// isCSpace is C's isspace in the "C" locale.
func isCSpace(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }

// SafePrint returns what run.c's safe_printf prints for a piece returned
// by Piece: nothing for an empty piece, nothing for a single byte that is
// neither printable ASCII nor whitespace (a raw control or non-ASCII byte
// from byte fallback), and otherwise the piece up to its first NUL byte,
// where printf's %s stops.
func SafePrint(piece string) string {
	if piece == "" {
		return ""
	}
	if len(piece) == 1 {
		c := piece[0]
		if !(c >= 0x20 && c <= 0x7E) && !isCSpace(c) {
			return ""
		}
	}
	if i := strings.IndexByte(piece, 0); i >= 0 {
		piece = piece[:i]
	}
	return piece
}
