package tokenizer

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// precompiled is SentencePiece's precompiled_charsmap normalizer, as the
// Hugging Face tokenizers library runs it (its Precompiled normalizer on
// top of the spm_precompiled crate).
//
// The charsmap is a little-endian uint32 n, then n/4 little-endian uint32
// units of a darts-clone double-array trie, then the rest of the bytes: a
// blob of replacement strings, each ended by a NUL byte. The trie maps the
// UTF-8 bytes of a character sequence to the offset of its replacement in
// the blob. When n is not a multiple of 4, its last n%4 bytes belong to
// the blob, as spm_precompiled reads it.
//
// Each trie unit packs, as darts-clone does: bit 8 "has a value child",
// the label (bits 0-7, with bit 31 set on value units so that they never
// match a label), the offset to the children (bits 10-31, shifted left by
// 8 more when bit 9 is set) and, for a value unit, the value in bits 0-30.
type precompiled struct {
	units []uint32
	blob  string // valid UTF-8
}

// The bits of a darts-clone unit.
const (
	dartsHasLeaf   = 1 << 8
	dartsLabelMask = 1<<31 | 0xFF
	dartsValueMask = 1<<31 - 1
)

func dartsOffset(u uint32) uint32 { return (u >> 10) << ((u & (1 << 9)) >> 6) }

// parsePrecompiledCharsmap reads a charsmap. Like spm_precompiled it
// refuses a charsmap shorter than its header or its trie, and a blob that
// is not valid UTF-8; unlike it, lookups never index outside the trie or
// the blob (see prefixes and replacement), so any charsmap that parses is
// safe to use.
func parsePrecompiledCharsmap(data []byte) (*precompiled, error) {
	if len(data) < 4 {
		return nil, fmt.Errorf("%d bytes, shorter than the 4-byte trie size", len(data))
	}
	n := binary.LittleEndian.Uint32(data)
	units := int(n / 4)
	if units > (len(data)-4)/4 {
		return nil, fmt.Errorf("the trie size %d exceeds the %d bytes that follow it", n, len(data)-4)
	}
	p := &precompiled{units: make([]uint32, units)}
	for i := range p.units {
		p.units[i] = binary.LittleEndian.Uint32(data[4+4*i:])
	}
	blob := data[4+4*units:]
	if !utf8.Valid(blob) {
		return nil, fmt.Errorf("the replacement strings are not valid UTF-8")
	}
	p.blob = string(blob)
	return p, nil
}

// decodeCharsmap decodes the base64 text of a precompiled_charsmap field
// the way Rust's base64 STANDARD engine does: padding required, no line
// breaks, no stray bits in the last character.
func decodeCharsmap(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, fmt.Errorf("base64 with a line break")
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("invalid base64: %v", err)
	}
	return b, nil
}

// unit returns the trie unit at pos, or ok = false outside the trie.
func (p *precompiled) unit(pos uint32) (uint32, bool) {
	if uint64(pos) >= uint64(len(p.units)) {
		return 0, false
	}
	return p.units[pos], true
}

// firstPrefix is spm_precompiled's common_prefix_search keeping its first
// result: the value of the shortest key that is a prefix of key. The
// search stops at a NUL byte of key. Where spm_precompiled would index
// outside the trie (and panic), the search ends without a match.
func (p *precompiled) firstPrefix(key string) (uint32, bool) {
	u, ok := p.unit(0)
	if !ok {
		return 0, false
	}
	pos := dartsOffset(u)
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c == 0 {
			break
		}
		pos ^= uint32(c)
		if u, ok = p.unit(pos); !ok || u&dartsLabelMask != uint32(c) {
			return 0, false
		}
		pos ^= dartsOffset(u)
		if u&dartsHasLeaf != 0 {
			v, ok := p.unit(pos)
			if !ok {
				return 0, false
			}
			return v & dartsValueMask, true
		}
	}
	return 0, false
}

// replacement is spm_precompiled's normalized_at: the blob from offset
// i up to the next NUL byte or the blob's end. An offset past the blob or
// inside a character (where spm_precompiled panics) has no replacement.
func (p *precompiled) replacement(i uint32) (string, bool) {
	if uint64(i) > uint64(len(p.blob)) {
		return "", false
	}
	rest := p.blob[i:]
	if rest != "" && !utf8.RuneStart(rest[0]) {
		return "", false
	}
	if j := strings.IndexByte(rest, 0); j >= 0 {
		rest = rest[:j]
	}
	return rest, true
}

// transform is spm_precompiled's Precompiled::transform: the replacement
// of the shortest key that is a prefix of chunk. Note that it replaces the
// whole chunk, also the part the key did not cover.
func (p *precompiled) transform(chunk string) (string, bool) {
	v, ok := p.firstPrefix(chunk)
	if !ok {
		return "", false
	}
	return p.replacement(v)
}

// normalize runs the Hugging Face Precompiled normalizer: the text is cut
// into extended grapheme clusters (Unicode 15.0 rules, package uniseg); a
// cluster shorter than 6 bytes that has a transform is replaced whole;
// otherwise each character of the cluster is replaced by its transform or
// kept. Bytes that are not valid UTF-8 are kept and end a cluster.
func (p *precompiled) normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for s != "" {
		n := validUTF8Prefix(s)
		p.normalizeValid(&b, s[:n])
		s = s[n:]
		for s != "" {
			if r, w := utf8.DecodeRuneInString(s); r != utf8.RuneError || w != 1 {
				break
			}
			b.WriteByte(s[0])
			s = s[1:]
		}
	}
	return b.String()
}

func (p *precompiled) normalizeValid(b *strings.Builder, s string) {
	state := -1
	var g string
	for s != "" {
		g, s, _, state = uniseg.FirstGraphemeClusterInString(s, state)
		if len(g) < 6 {
			if r, ok := p.transform(g); ok {
				b.WriteString(r)
				continue
			}
		}
		for g != "" {
			_, w := utf8.DecodeRuneInString(g)
			if r, ok := p.transform(g[:w]); ok {
				b.WriteString(r)
			} else {
				b.WriteString(g[:w])
			}
			g = g[w:]
		}
	}
}

// validUTF8Prefix returns the length of the longest valid UTF-8 prefix of s.
func validUTF8Prefix(s string) int {
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && w == 1 {
			return i
		}
		i += w
	}
	return len(s)
}
