package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

type hfFile struct {
	Version       string          `json:"version"`
	Truncation    json.RawMessage `json:"truncation"`
	Padding       json.RawMessage `json:"padding"`
	AddedTokens   []hfAdded       `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         json.RawMessage `json:"model"`
}

type hfAdded struct {
	ID         *int    `json:"id"`
	Content    *string `json:"content"`
	Special    bool    `json:"special"`
	SingleWord bool    `json:"single_word"`
	LStrip     bool    `json:"lstrip"`
	RStrip     bool    `json:"rstrip"`
	Normalized *bool   `json:"normalized"`
}

// hfModel holds the fields of the BPE, WordPiece and WordLevel models
// (Unigram has its own parser).
type hfModel struct {
	Type                    string          `json:"type"`
	Vocab                   json.RawMessage `json:"vocab"`
	Merges                  json.RawMessage `json:"merges"`
	UnkToken                *string         `json:"unk_token"`
	ByteFallback            bool            `json:"byte_fallback"`
	FuseUnk                 bool            `json:"fuse_unk"`
	IgnoreMerges            bool            `json:"ignore_merges"`
	Dropout                 *float64        `json:"dropout"`
	ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
	MaxInputCharsPerWord    *int            `json:"max_input_chars_per_word"`
}

// unmarshalKnown decodes JSON into v, refusing fields v does not have: a
// setting this package does not know could change the ids.
func unmarshalKnown(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}

func isNull(raw json.RawMessage) bool {
	s := string(bytes.TrimSpace(raw))
	return s == "" || s == "null"
}

// LoadHF reads a Hugging Face tokenizer.json (see Pipeline). A
// tokenizer_config.json beside it supplies the BOS and EOS tokens.
func LoadHF(path string) (*Pipeline, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	p, err := parseHF(data, path)
	if err != nil {
		return nil, err
	}
	if cfg, err := os.ReadFile(filepath.Join(filepath.Dir(path), "tokenizer_config.json")); err == nil {
		p.useConfigTokens(cfg)
	}
	return p, nil
}

// ParseHF is LoadHF on the file's contents (without a tokenizer_config.json).
func ParseHF(data []byte) (*Pipeline, error) { return parseHF(data, "tokenizer.json") }

func parseHF(data []byte, name string) (*Pipeline, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("tokenizer: %s: "+format, append([]any{name}, args...)...)
	}
	var f hfFile
	if err := unmarshalKnown(data, &f); err != nil {
		if strings.Contains(err.Error(), "unknown field") {
			return nil, bad("%v: a part this package does not know", err)
		}
		return nil, bad("invalid JSON: %v", err)
	}
	if isNull(f.Model) {
		return nil, bad("no model")
	}
	p := &Pipeline{name: name, bos: -1, eos: -1}
	var tokens []string
	var err error
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(f.Model, &head); err != nil {
		return nil, bad("model: %v", err)
	}
	switch head.Type {
	case "BPE", "WordPiece", "WordLevel":
		var m hfModel
		if err := unmarshalKnown(f.Model, &m); err != nil {
			return nil, bad("model %s: %v", head.Type, err)
		}
		if isNull(m.Vocab) {
			return nil, bad("model has no vocab")
		}
		if tokens, err = parseVocabObject(m.Vocab, name); err != nil {
			return nil, err
		}
		switch head.Type {
		case "BPE":
			p.model, err = hfBPEModel(tokens, &m, name)
		case "WordPiece":
			p.model, err = hfWordPieceModel(tokens, &m, name)
		default:
			p.model, err = hfWordLevelModel(tokens, &m, name)
		}
	case "Unigram":
		var u *unigram
		u, tokens, err = parseUnigram(f.Model, name)
		p.model = u
	case "":
		return nil, bad("model has no type")
	default:
		return nil, bad("unsupported model type %q", head.Type)
	}
	if err != nil {
		return nil, err
	}
	if p.normalizer, err = parseNormalizer(f.Normalizer, name); err != nil {
		return nil, err
	}
	if p.pre, err = parsePreTokenizer(f.PreTokenizer, name); err != nil {
		return nil, err
	}
	if p.dec, err = parseDecoder(f.Decoder, name); err != nil {
		return nil, err
	}
	if p.tokens, p.added, err = addTokens(tokens, f.AddedTokens, name); err != nil {
		return nil, err
	}
	if p.post, err = parsePostProcessor(f.PostProcessor, len(p.tokens), name); err != nil {
		return nil, err
	}
	if !isNull(f.Truncation) {
		return nil, bad("truncation is set; it is not supported (remove it and truncate the ids)")
	}
	if !isNull(f.Padding) {
		return nil, bad("padding is set; it is not supported")
	}
	p.addedID = make(map[string]int, len(p.added))
	for _, t := range p.added {
		p.addedID[t.content] = t.id
	}
	p.isSpecial = make([]bool, len(p.tokens))
	var rawToks, normToks []addedToken
	for _, t := range p.added {
		p.isSpecial[t.id] = p.isSpecial[t.id] || t.special
		if t.normalized {
			normToks = append(normToks, t)
		} else {
			rawToks = append(rawToks, t)
		}
	}
	p.raw = newAddedMatcher(rawToks, func(t addedToken) string { return t.content })
	p.norm = newAddedMatcher(normToks, func(t addedToken) string {
		if p.normalizer == nil {
			return t.content
		}
		return p.normalizer.normalize(t.content)
	})
	p.bos, p.eos = p.guessBOSEOS()
	return p, nil
}

// useConfigTokens takes bos_token and eos_token from a
// tokenizer_config.json (a string or an AddedToken object) when they name
// tokens of the vocab.
func (p *Pipeline) useConfigTokens(cfg []byte) {
	var c struct {
		BOS json.RawMessage `json:"bos_token"`
		EOS json.RawMessage `json:"eos_token"`
	}
	if json.Unmarshal(cfg, &c) != nil {
		return
	}
	if id := p.ID(configToken(c.BOS)); id >= 0 {
		p.bos = id
	}
	if id := p.ID(configToken(c.EOS)); id >= 0 {
		p.eos = id
	}
}

func configToken(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var t struct {
		Content string `json:"content"`
	}
	if json.Unmarshal(raw, &t) == nil {
		return t.Content
	}
	return ""
}

// guessBOSEOS: BOS is the first special token the single-sequence
// template puts in front, else a special token with a usual name; EOS a
// special token with a usual name.
func (p *Pipeline) guessBOSEOS() (bos, eos int) {
	var specials []special
	for _, t := range p.added {
		if t.special {
			specials = append(specials, special{t.content, t.id})
		}
	}
	bos, eos = guessBOSEOS(specials)
	if tp, ok := p.post.(templateProcessor); ok && len(tp.single) > 0 && tp.single[0].seq == 0 && len(tp.single[0].ids) == 1 {
		bos = tp.single[0].ids[0]
	}
	return bos, eos
}

func hfBPEModel(tokens []string, m *hfModel, name string) (model, error) {
	if m.Dropout != nil && *m.Dropout != 0 {
		return nil, fmt.Errorf("tokenizer: %s: BPE dropout %v is not supported (it makes encoding random)", name, *m.Dropout)
	}
	if m.MaxInputCharsPerWord != nil {
		return nil, fmt.Errorf("tokenizer: %s: BPE has max_input_chars_per_word, a WordPiece setting", name)
	}
	pairs, err := parseHFMerges(m.Merges, name)
	if err != nil {
		return nil, err
	}
	return newBPEModel(tokens, pairs, m, name)
}

func hfWordPieceModel(tokens []string, m *hfModel, name string) (model, error) {
	if !isNull(m.Merges) || m.ByteFallback || m.FuseUnk || m.IgnoreMerges || m.Dropout != nil || m.EndOfWordSuffix != nil {
		return nil, fmt.Errorf("tokenizer: %s: WordPiece model with BPE settings", name)
	}
	t, err := newWordPiece(tokens, name)
	if err != nil {
		return nil, err
	}
	unk := "[UNK]"
	if m.UnkToken != nil {
		unk = *m.UnkToken
	}
	if t.unk = t.ID(unk); t.unk < 0 {
		return nil, fmt.Errorf("tokenizer: %s: unk_token %q is not in the vocab", name, unk)
	}
	t.prefix = "##"
	if m.ContinuingSubwordPrefix != nil {
		t.prefix = *m.ContinuingSubwordPrefix
	}
	t.maxChars = 100
	if m.MaxInputCharsPerWord != nil {
		if *m.MaxInputCharsPerWord < 0 {
			return nil, fmt.Errorf("tokenizer: %s: max_input_chars_per_word %d is negative", name, *m.MaxInputCharsPerWord)
		}
		t.maxChars = *m.MaxInputCharsPerWord
	}
	return wordPieceModel{t}, nil
}

// wordPieceModel is WordPiece's greedy longest-match-first as a pipeline
// model.
type wordPieceModel struct{ t *WordPiece }

func (w wordPieceModel) tokenize(dst []int, word string) ([]int, error) {
	return w.t.encodeWord(dst, word)
}

func (w wordPieceModel) tokenID(s string) (int, bool) { id, ok := w.t.vocab[s]; return id, ok }

// wordLevelModel maps each word to its id, or to the unk token.
type wordLevelModel struct {
	vocab map[string]int
	unk   int
}

func hfWordLevelModel(tokens []string, m *hfModel, name string) (model, error) {
	if !isNull(m.Merges) || m.ByteFallback || m.FuseUnk || m.IgnoreMerges || m.Dropout != nil ||
		m.ContinuingSubwordPrefix != nil || m.EndOfWordSuffix != nil || m.MaxInputCharsPerWord != nil {
		return nil, fmt.Errorf("tokenizer: %s: WordLevel model with BPE or WordPiece settings", name)
	}
	w := wordLevelModel{vocab: make(map[string]int, len(tokens))}
	for id, s := range tokens {
		w.vocab[s] = id
	}
	var err error
	if w.unk, err = unkID(w.vocab, m.UnkToken, name); err != nil {
		return nil, err
	}
	return w, nil
}

func (w wordLevelModel) tokenID(s string) (int, bool) { id, ok := w.vocab[s]; return id, ok }

func (w wordLevelModel) tokenize(dst []int, word string) ([]int, error) {
	if id, ok := w.vocab[word]; ok {
		return append(dst, id), nil
	}
	if w.unk < 0 {
		return dst, fmt.Errorf("tokenizer: word %q is not in the WordLevel vocab and there is no unk_token", word)
	}
	return append(dst, w.unk), nil
}

// parseHFMerges accepts both spellings: "a b" strings and ["a", "b"] pairs.
func parseHFMerges(raw json.RawMessage, name string) ([][2]string, error) {
	if isNull(raw) {
		return nil, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("tokenizer: %s: merges: %v", name, err)
	}
	pairs := make([][2]string, 0, len(items))
	for i, it := range items {
		var s string
		if json.Unmarshal(it, &s) == nil {
			a, b, ok := strings.Cut(s, " ")
			if !ok || a == "" || b == "" || strings.Contains(b, " ") {
				return nil, fmt.Errorf("tokenizer: %s: merge %d %q is not two tokens separated by one space", name, i+1, s)
			}
			pairs = append(pairs, [2]string{a, b})
			continue
		}
		var p []string
		if err := json.Unmarshal(it, &p); err != nil || len(p) != 2 {
			return nil, fmt.Errorf("tokenizer: %s: merge %d is neither \"a b\" nor [\"a\", \"b\"]", name, i+1)
		}
		pairs = append(pairs, [2]string{p[0], p[1]})
	}
	return pairs, nil
}

// addTokens checks the added tokens against the model vocab, where an
// added token either repeats a vocab entry with its id or extends the id
// range contiguously, and returns the full token table and the added
// tokens in id order.
func addTokens(tokens []string, added []hfAdded, name string) ([]string, []addedToken, error) {
	n := len(tokens)
	extra := map[int]string{}
	seen := map[int]bool{}
	out := make([]addedToken, 0, len(added))
	index := make(map[string]int, len(tokens))
	for id, s := range tokens {
		if _, dup := index[s]; !dup {
			index[s] = id
		}
	}
	for i, a := range added {
		if a.ID == nil || a.Content == nil {
			return nil, nil, fmt.Errorf("tokenizer: %s: added_tokens[%d] lacks id or content", name, i)
		}
		id, s := *a.ID, *a.Content
		if s == "" {
			return nil, nil, fmt.Errorf("tokenizer: %s: added token %d is empty", name, id)
		}
		if seen[id] {
			return nil, nil, fmt.Errorf("tokenizer: %s: added tokens repeat id %d", name, id)
		}
		seen[id] = true
		switch {
		case id >= 0 && id < n:
			if tokens[id] != s {
				return nil, nil, fmt.Errorf("tokenizer: %s: added token %q has id %d, which the vocab gives to %q", name, s, id, tokens[id])
			}
		case id >= n && id < n+len(added):
			if j, dup := index[s]; dup {
				return nil, nil, fmt.Errorf("tokenizer: %s: duplicate token %q at ids %d and %d", name, s, j, id)
			}
			extra[id] = s
			index[s] = id
		default:
			return nil, nil, fmt.Errorf("tokenizer: %s: added token %q has id %d, out of range", name, s, id)
		}
		normalized := !a.Special // Hugging Face's default when the field is absent
		if a.Normalized != nil {
			normalized = *a.Normalized
		}
		out = append(out, addedToken{content: s, id: id, special: a.Special, normalized: normalized,
			lstrip: a.LStrip, rstrip: a.RStrip, singleWord: a.SingleWord})
	}
	for id := n; id < n+len(extra); id++ {
		s, ok := extra[id]
		if !ok {
			return nil, nil, fmt.Errorf("tokenizer: %s: added tokens leave id %d without a token", name, id)
		}
		tokens = append(tokens, s)
	}
	// Matching order among equal contents does not arise (contents are
	// unique); id order keeps the tables deterministic.
	sort.SliceStable(out, func(i, j int) bool { return out[i].id < out[j].id })
	return tokens, out, nil
}

// guessBOSEOS picks BOS and EOS among the special tokens by the names the
// common model families use; tokenizer.json itself does not say.
func guessBOSEOS(specials []special) (bos, eos int) {
	bos, eos = -1, -1
	for _, name := range []string{"<s>", "<|begin_of_text|>", "<bos>", "<|endoftext|>"} {
		for _, s := range specials {
			if bos < 0 && s.content == name {
				bos = s.id
			}
		}
	}
	for _, name := range []string{"</s>", "<|end_of_text|>", "<eos>", "<|endoftext|>"} {
		for _, s := range specials {
			if eos < 0 && s.content == name {
				eos = s.id
			}
		}
	}
	return bos, eos
}
