package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

type hfFile struct {
	AddedTokens   []hfAdded       `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         json.RawMessage `json:"model"`
}

type hfAdded struct {
	ID      *int    `json:"id"`
	Content *string `json:"content"`
	Special bool    `json:"special"`
}

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

// hfComponent holds the fields of the normalizers, pre-tokenizers and
// decoders this package understands; the others are rejected by type.
type hfComponent struct {
	Type               string          `json:"type"`
	AddPrefixSpace     *bool           `json:"add_prefix_space"`
	UseRegex           *bool           `json:"use_regex"`
	Lowercase          *bool           `json:"lowercase"`
	StripAccents       *bool           `json:"strip_accents"`
	CleanText          *bool           `json:"clean_text"`
	HandleChineseChars *bool           `json:"handle_chinese_chars"`
	Normalizers        []hfComponent   `json:"normalizers"`
	Pretokenizers      []hfComponent   `json:"pretokenizers"`
	Decoders           []hfComponent   `json:"decoders"`
	Prepend            *string         `json:"prepend"`
	Pattern            json.RawMessage `json:"pattern"`
	Content            json.RawMessage `json:"content"`
	Replacement        *string         `json:"replacement"`
	PrependScheme      *string         `json:"prepend_scheme"`
	Split              *bool           `json:"split"`
	Cleanup            *bool           `json:"cleanup"`
	Prefix             *string         `json:"prefix"`
}

// component decodes an optional component; JSON null is nil.
func component(raw json.RawMessage) (*hfComponent, error) {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil, nil
	}
	var c hfComponent
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// LoadHF reads a Hugging Face tokenizer.json. Supported: BPE with a
// ByteLevel pre-tokenizer (GPT-2 and alike), BPE in the SentencePiece
// style (Llama: "▁" for spaces, byte fallback) and WordPiece with BERT's
// normalizer and pre-tokenizer. Anything else is an error naming the
// unsupported part.
func LoadHF(path string) (Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return parseHF(data, path)
}

// ParseHF is LoadHF on the file's contents.
func ParseHF(data []byte) (Tokenizer, error) { return parseHF(data, "tokenizer.json") }

func parseHF(data []byte, name string) (Tokenizer, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("tokenizer: %s: "+format, append([]any{name}, args...)...)
	}
	var f hfFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, bad("invalid JSON: %v", err)
	}
	var m hfModel
	if len(f.Model) == 0 || string(f.Model) == "null" {
		return nil, bad("no model")
	}
	if err := json.Unmarshal(f.Model, &m); err != nil {
		return nil, bad("model: %v", err)
	}
	if len(m.Vocab) == 0 {
		return nil, bad("model has no vocab")
	}
	tokens, err := parseVocabObject(m.Vocab, name)
	if err != nil {
		return nil, err
	}
	tokens, specials, err := addTokens(tokens, f.AddedTokens, name)
	if err != nil {
		return nil, err
	}
	norm, err := component(f.Normalizer)
	if err != nil {
		return nil, bad("normalizer: %v", err)
	}
	pre, err := component(f.PreTokenizer)
	if err != nil {
		return nil, bad("pre_tokenizer: %v", err)
	}
	dec, err := component(f.Decoder)
	if err != nil {
		return nil, bad("decoder: %v", err)
	}
	switch m.Type {
	case "BPE":
		return hfBPE(tokens, specials, &m, norm, pre, name)
	case "WordPiece":
		return hfWordPiece(tokens, specials, &m, norm, pre, dec, name)
	case "":
		return nil, bad("model has no type")
	}
	return nil, bad("unsupported model type %q", m.Type)
}

// addTokens checks the added tokens against the model vocab: an added
// token either repeats a vocab entry with its id or extends the id range.
func addTokens(tokens []string, added []hfAdded, name string) ([]string, []special, error) {
	n := len(tokens)
	extra := map[int]string{}
	var specials []special
	index := make(map[string]int, len(tokens))
	for id, s := range tokens {
		index[s] = id
	}
	for i, a := range added {
		if a.ID == nil || a.Content == nil {
			return nil, nil, fmt.Errorf("tokenizer: %s: added_tokens[%d] lacks id or content", name, i)
		}
		id, s := *a.ID, *a.Content
		if s == "" {
			return nil, nil, fmt.Errorf("tokenizer: %s: added token %d is empty", name, id)
		}
		switch {
		case id >= 0 && id < n:
			if tokens[id] != s {
				return nil, nil, fmt.Errorf("tokenizer: %s: added token %q has id %d, which the vocab gives to %q", name, s, id, tokens[id])
			}
		case id >= n && id < n+len(added):
			if prev, dup := extra[id]; dup {
				return nil, nil, fmt.Errorf("tokenizer: %s: added tokens %q and %q share id %d", name, prev, s, id)
			}
			if j, dup := index[s]; dup {
				return nil, nil, fmt.Errorf("tokenizer: %s: duplicate token %q at ids %d and %d", name, s, j, id)
			}
			extra[id] = s
			index[s] = id
		default:
			return nil, nil, fmt.Errorf("tokenizer: %s: added token %q has id %d, out of range", name, s, id)
		}
		// Non-special added tokens are matched as specials too: both are
		// Hugging Face's "added tokens", cut out of the text before the model.
		specials = append(specials, special{s, id})
	}
	for id := n; id < n+len(extra); id++ {
		s, ok := extra[id]
		if !ok {
			return nil, nil, fmt.Errorf("tokenizer: %s: added tokens leave id %d without a token", name, id)
		}
		tokens = append(tokens, s)
	}
	if len(tokens) != n+len(extra) {
		return nil, nil, fmt.Errorf("tokenizer: %s: added token ids beyond %d are not contiguous", name, n+len(extra)-1)
	}
	sort.SliceStable(specials, func(i, j int) bool { return specials[i].id < specials[j].id })
	return tokens, specials, nil
}

func isNull(raw json.RawMessage) bool {
	s := string(bytes.TrimSpace(raw))
	return s == "" || s == "null"
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

func hfBPE(tokens []string, specials []special, m *hfModel, norm, pre *hfComponent, name string) (Tokenizer, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("tokenizer: %s: "+format, append([]any{name}, args...)...)
	}
	if m.Dropout != nil && *m.Dropout != 0 {
		return nil, bad("BPE dropout is not supported")
	}
	if m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "" {
		return nil, bad("BPE continuing_subword_prefix is not supported")
	}
	if m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "" {
		return nil, bad("BPE end_of_word_suffix is not supported")
	}
	pairs, err := parseHFMerges(m.Merges, name)
	if err != nil {
		return nil, err
	}
	unk := -1
	vocab := make(map[string]int, len(tokens))
	for id, s := range tokens {
		vocab[s] = id
	}
	if m.UnkToken != nil {
		id, ok := vocab[*m.UnkToken]
		if !ok {
			return nil, bad("unk_token %q is not in the vocab", *m.UnkToken)
		}
		unk = id
	}
	bos, eos := guessBOSEOS(specials)

	if pre != nil && pre.Type == "ByteLevel" || pre != nil && pre.Type == "Sequence" && len(pre.Pretokenizers) == 1 && pre.Pretokenizers[0].Type == "ByteLevel" {
		bl := pre
		if pre.Type == "Sequence" {
			bl = &pre.Pretokenizers[0]
		}
		if norm != nil {
			return nil, bad("normalizer %q with a ByteLevel BPE is not supported", norm.Type)
		}
		t, err := newByteLevelBPE(tokens, pairs, name)
		if err != nil {
			return nil, err
		}
		t.unk, t.special, t.bos, t.eos, t.ignoreMerges = unk, specials, bos, eos, m.IgnoreMerges
		t.addPrefixSpace = bl.AddPrefixSpace != nil && *bl.AddPrefixSpace
		t.useRegex = bl.UseRegex == nil || *bl.UseRegex
		return t, nil
	}

	t := &SentencePieceBPE{
		tokens: tokens, vocab: vocab, unk: unk, fuseUnk: m.FuseUnk, ignoreMerges: m.IgnoreMerges,
		byteFallback: m.ByteFallback, special: specials, bos: bos, eos: eos, prepend: prependNever,
	}
	switch {
	case pre == nil:
		// The legacy Llama layout: normalizer Prepend("▁") + Replace(" ", "▁").
		if norm == nil {
			return nil, bad("BPE without a ByteLevel or Metaspace pre-tokenizer or a \"▁\" normalizer is not supported")
		}
		list := []hfComponent{*norm}
		if norm.Type == "Sequence" {
			list = norm.Normalizers
		}
		replace := false
		for _, c := range list {
			switch {
			case c.Type == "Prepend" && c.Prepend != nil && *c.Prepend == metaSpace:
				t.prepend = prependAlways
			case c.Type == "Replace" && isSpaceToMeta(c):
				replace = true
			default:
				return nil, bad("normalizer %q is not supported", c.Type)
			}
		}
		if !replace {
			return nil, bad("BPE normalizer does not replace \" \" with \"▁\"; not supported")
		}
	case pre.Type == "Metaspace":
		if norm != nil {
			return nil, bad("normalizer %q with a Metaspace pre-tokenizer is not supported", norm.Type)
		}
		if pre.Replacement != nil && *pre.Replacement != metaSpace {
			return nil, bad("Metaspace replacement %q is not supported", *pre.Replacement)
		}
		t.prepend, t.metaspace = prependAlways, true
		if pre.PrependScheme != nil {
			switch *pre.PrependScheme {
			case "always":
			case "first":
				t.prepend = prependFirst
			case "never":
				t.prepend = prependNever
			default:
				return nil, bad("Metaspace prepend_scheme %q is not supported", *pre.PrependScheme)
			}
		} else if pre.AddPrefixSpace != nil && !*pre.AddPrefixSpace {
			t.prepend = prependNever
		}
		t.split = pre.Split == nil || *pre.Split
	default:
		return nil, bad("BPE with pre_tokenizer %q is not supported", pre.Type)
	}
	t.merges, err = buildMerges(pairs, vocab, name)
	if err != nil {
		return nil, err
	}
	t.init()
	return t, nil
}

func isSpaceToMeta(c hfComponent) bool {
	var pat struct {
		String *string `json:"String"`
	}
	var content string
	if json.Unmarshal(c.Pattern, &pat) != nil || pat.String == nil || json.Unmarshal(c.Content, &content) != nil {
		return false
	}
	return *pat.String == " " && content == metaSpace
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

func hfWordPiece(tokens []string, specials []special, m *hfModel, norm, pre, dec *hfComponent, name string) (Tokenizer, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("tokenizer: %s: "+format, append([]any{name}, args...)...)
	}
	t, err := newWordPiece(tokens, name)
	if err != nil {
		return nil, err
	}
	t.special = specials
	if m.UnkToken != nil {
		if t.unk = t.ID(*m.UnkToken); t.unk < 0 {
			return nil, bad("unk_token %q is not in the vocab", *m.UnkToken)
		}
	}
	if m.ContinuingSubwordPrefix != nil {
		t.prefix = *m.ContinuingSubwordPrefix
	}
	if m.MaxInputCharsPerWord != nil {
		if *m.MaxInputCharsPerWord < 0 {
			return nil, bad("max_input_chars_per_word %d is negative", *m.MaxInputCharsPerWord)
		}
		t.maxChars = *m.MaxInputCharsPerWord
	}
	if norm != nil {
		if norm.Type != "BertNormalizer" {
			return nil, bad("WordPiece with normalizer %q is not supported", norm.Type)
		}
		flag := func(p *bool, def bool) bool {
			if p == nil {
				return def
			}
			return *p
		}
		t.cleanText = flag(norm.CleanText, true)
		t.chineseChars = flag(norm.HandleChineseChars, true)
		t.lower = flag(norm.Lowercase, true)
		t.stripAccents = flag(norm.StripAccents, t.lower)
	}
	if pre != nil && pre.Type != "BertPreTokenizer" {
		return nil, bad("WordPiece with pre_tokenizer %q is not supported", pre.Type)
	}
	t.cleanup = true
	if dec != nil {
		if dec.Type != "WordPiece" {
			return nil, bad("WordPiece with decoder %q is not supported", dec.Type)
		}
		if dec.Cleanup != nil {
			t.cleanup = *dec.Cleanup
		}
		if dec.Prefix != nil {
			t.prefix = *dec.Prefix
		}
	}
	return t, nil
}
