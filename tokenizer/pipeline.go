package tokenizer

import (
	"fmt"
	"strings"
)

// Pipeline is a Hugging Face tokenizer.json: added tokens cut out of the
// text, then the normalizer, the pre-tokenizer and the model (BPE,
// WordPiece, Unigram or WordLevel) on the rest, and the post-processor's
// special tokens when asked for; decoding runs the file's decoder. It
// gives the ids of Hugging Face's tokenizers library for every stage it
// accepts, and refuses by name the stages and settings it does not know.
type Pipeline struct {
	name      string
	tokens    []string       // by id: the model's vocab, then the added tokens beyond it
	addedID   map[string]int // the added tokens; the model's vocab holds the rest
	isSpecial []bool

	added      []addedToken
	raw, norm  *addedMatcher // added tokens matched before and after normalization
	normalizer normalizer
	pre        preTokenizer
	model      model
	post       postProcessor
	dec        decoder
	bos, eos   int
}

var _ SpecialEncoder = (*Pipeline)(nil)

// VocabSize is the number of ids, added tokens included.
func (p *Pipeline) VocabSize() int { return len(p.tokens) }

// BOS returns the beginning-of-sequence id, or -1 if there is none: the
// bos_token of a tokenizer_config.json beside the file, else the first
// special token the post-processor puts in front, else a token with one
// of the usual names.
func (p *Pipeline) BOS() int { return p.bos }

// EOS returns the end-of-sequence id, or -1 (eos_token of the config,
// else a token with one of the usual names).
func (p *Pipeline) EOS() int { return p.eos }

// Token returns the string of id as the vocab holds it.
func (p *Pipeline) Token(id int) (string, error) {
	if id < 0 || id >= len(p.tokens) {
		return "", errID(id, len(p.tokens))
	}
	return p.tokens[id], nil
}

// ID returns the id of an added or vocab token, or -1 (added tokens
// first, as Hugging Face's token_to_id).
func (p *Pipeline) ID(token string) int {
	if id, ok := p.addedID[token]; ok {
		return id
	}
	if id, ok := p.model.tokenID(token); ok {
		return id
	}
	return -1
}

// IsSpecial reports whether id is an added token marked special (skipped
// by DecodeWith with SkipSpecial).
func (p *Pipeline) IsSpecial(id int) bool { return id >= 0 && id < len(p.isSpecial) && p.isSpecial[id] }

// Encode encodes text with Hugging Face's defaults except special tokens:
// added tokens that are not special are recognised, special ones are
// encoded as text, and no special tokens are added around the result.
func (p *Pipeline) Encode(text string) ([]int, error) { return p.EncodeWith(text, EncodeOptions{}) }

// EncodeWith encodes text. Hugging Face's encode(text,
// add_special_tokens=B) is EncodeWith(text, EncodeOptions{Special: true,
// AddSpecialTokens: B}).
func (p *Pipeline) EncodeWith(text string, opt EncodeOptions) ([]int, error) {
	ids, err := p.encodeSequence(nil, text, opt.Special)
	if err != nil {
		return nil, err
	}
	return p.finish(ids, opt)
}

// EncodePair encodes a pair of sequences (a question and a passage, two
// sentences for a cross-encoder) and returns the ids with their token
// type ids; with AddSpecialTokens the post-processor's pair template joins
// them.
func (p *Pipeline) EncodePair(a, b string, opt EncodeOptions) (ids, typeIDs []int, err error) {
	ia, err := p.encodeSequence(nil, a, opt.Special)
	if err != nil {
		return nil, nil, err
	}
	ib, err := p.encodeSequence(nil, b, opt.Special)
	if err != nil {
		return nil, nil, err
	}
	if opt.AddBOS || opt.AddEOS {
		return nil, nil, fmt.Errorf("tokenizer: EncodePair takes AddSpecialTokens, not AddBOS/AddEOS")
	}
	if opt.AddSpecialTokens && p.post != nil {
		ids, typeIDs = p.post.process(ia, ib, true)
		return ids, typeIDs, nil
	}
	ids, typeIDs = noProcessor{}.process(ia, ib, true)
	return ids, typeIDs, nil
}

func (p *Pipeline) finish(ids []int, opt EncodeOptions) ([]int, error) {
	if opt.AddSpecialTokens && p.post != nil {
		ids, _ = p.post.process(ids, nil, false)
	}
	if opt.AddBOS {
		if p.bos < 0 {
			return nil, fmt.Errorf("tokenizer: %s has no BOS token", p.name)
		}
		ids = append([]int{p.bos}, ids...)
	}
	if opt.AddEOS {
		if p.eos < 0 {
			return nil, fmt.Errorf("tokenizer: %s has no EOS token", p.name)
		}
		ids = append(ids, p.eos)
	}
	if ids == nil {
		ids = []int{}
	}
	return ids, nil
}

// encodeSequence appends the ids of text to dst: the added tokens matched
// in the raw text, then per remaining piece the normalizer, the added
// tokens matched in the normalized text, the pre-tokenizer and the model.
func (p *Pipeline) encodeSequence(dst []int, text string, special bool) ([]int, error) {
	var skip func(addedToken) bool
	if !special {
		skip = func(t addedToken) bool { return t.special }
	}
	var words []string
	var inner []addedSpan
	for _, sp := range p.raw.split(nil, text, skip) {
		if sp.tok >= 0 {
			dst = append(dst, p.raw.tokens[sp.tok].id)
			continue
		}
		piece := text[sp.lo:sp.hi]
		first := sp.lo == 0
		if p.normalizer != nil {
			piece = p.normalizer.normalize(piece)
		}
		inner = p.norm.split(inner[:0], piece, skip)
		for _, in := range inner {
			if in.tok >= 0 {
				dst = append(dst, p.norm.tokens[in.tok].id)
				continue
			}
			s := piece[in.lo:in.hi]
			if p.pre == nil {
				words = append(words[:0], s)
			} else {
				words = p.pre.preTokenize(words[:0], s, first && in.lo == 0)
			}
			for _, w := range words {
				if w == "" {
					continue
				}
				var err error
				if dst, err = p.model.tokenize(dst, w); err != nil {
					return nil, err
				}
			}
		}
	}
	return dst, nil
}

// DecodeOptions selects what DecodeWith leaves out.
type DecodeOptions struct {
	// SkipSpecial leaves out the added tokens marked special, as Hugging
	// Face's skip_special_tokens.
	SkipSpecial bool
}

// Decode turns ids into text with the file's decoder, special tokens
// included. Bytes are kept as the tokens denote them: where Hugging Face
// replaces an invalid UTF-8 sequence by U+FFFD, Decode returns the bytes.
func (p *Pipeline) Decode(ids []int) (string, error) { return p.DecodeWith(ids, DecodeOptions{}) }

// DecodeWith is Decode with options.
func (p *Pipeline) DecodeWith(ids []int, opt DecodeOptions) (string, error) {
	toks := make([]string, 0, len(ids))
	for _, id := range ids {
		if id < 0 || id >= len(p.tokens) {
			return "", errID(id, len(p.tokens))
		}
		if opt.SkipSpecial && p.isSpecial[id] {
			continue
		}
		toks = append(toks, p.tokens[id])
	}
	return p.decodeTokens(toks), nil
}

func (p *Pipeline) decodeTokens(toks []string) string {
	if p.dec == nil {
		return strings.Join(toks, " ")
	}
	return strings.Join(p.dec.decodeChain(toks), "")
}

// appendToken decodes id as the continuation of prev: the text that
// decoding [prev, id] adds to decoding [prev]. Every decoder here acts
// per token or, after Fuse, on the joined text with effects confined to
// its start, so the pieces add up to Decode of the whole sequence. A
// special token set by Stream.SetPrev and not printed (a prompt's BOS)
// counts as no token, as Hugging Face's streaming decode with
// skip_special_tokens does: the first generated token then loses the
// leading space a "▁" prefix stands for.
func (p *Pipeline) appendToken(dst []byte, st decodeState, id int) ([]byte, error) {
	if id < 0 || id >= len(p.tokens) {
		return dst, errID(id, len(p.tokens))
	}
	if st.prev < 0 || st.prev >= len(p.tokens) || !st.wrote && p.isSpecial[st.prev] {
		return append(dst, p.decodeTokens([]string{p.tokens[id]})...), nil
	}
	before := p.decodeTokens([]string{p.tokens[st.prev]})
	both := p.decodeTokens([]string{p.tokens[st.prev], p.tokens[id]})
	if strings.HasPrefix(both, before) {
		return append(dst, both[len(before):]...), nil
	}
	return append(dst, p.decodeTokens([]string{p.tokens[id]})...), nil
}
