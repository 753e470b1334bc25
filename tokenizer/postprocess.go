package tokenizer

import (
	"encoding/json"
	"fmt"
)

// postProcessor adds the special tokens a model was trained with around
// one sequence (b == nil) or a pair, returning the ids and their token
// type ids. It runs only when special tokens are asked for, as Hugging
// Face's add_special_tokens.
type postProcessor interface {
	process(a, b []int, pair bool) (ids, types []int)
}

// templatePiece is one item of a TemplateProcessing template: a special
// token's ids, or sequence A or B.
type templatePiece struct {
	ids    []int // for a special token
	seq    byte  // 'A' or 'B' for a sequence, 0 for a special token
	typeID int
}

type templateProcessor struct {
	single, pair []templatePiece
}

func (t templateProcessor) process(a, b []int, pair bool) ([]int, []int) {
	tmpl := t.single
	if pair {
		tmpl = t.pair
	}
	var ids, types []int
	for _, p := range tmpl {
		src := p.ids
		switch p.seq {
		case 'A':
			src = a
		case 'B':
			src = b
		}
		ids = append(ids, src...)
		for range src {
			types = append(types, p.typeID)
		}
	}
	return ids, types
}

// noProcessor leaves ids as they are (ByteLevel's post-processor only
// trims offsets).
type noProcessor struct{}

func (noProcessor) process(a, b []int, pair bool) ([]int, []int) {
	ids := append(append([]int(nil), a...), b...)
	types := make([]int, len(ids))
	for i := len(a); i < len(ids); i++ {
		types[i] = 1
	}
	return ids, types
}

type seqProcessor []postProcessor

// process of a Sequence: the first processor that adds tokens joins the
// sequences, the later ones see the joined result as one sequence, as
// Hugging Face chains them; ByteLevel's (offsets only) is skipped. Token
// types are those of the joining processor.
func (s seqProcessor) process(a, b []int, pair bool) ([]int, []int) {
	var real []postProcessor
	for _, p := range s {
		if _, ok := p.(noProcessor); !ok {
			real = append(real, p)
		}
	}
	if len(real) == 0 {
		return noProcessor{}.process(a, b, pair)
	}
	ids, types := real[0].process(a, b, pair)
	for _, p := range real[1:] {
		ids, types = p.process(ids, nil, false)
	}
	return ids, types
}

type hfProcessor struct {
	Type          string                     `json:"type"`
	Single        []json.RawMessage          `json:"single"`
	Pair          []json.RawMessage          `json:"pair"`
	SpecialTokens map[string]hfTemplateToken `json:"special_tokens"`
	Sep           json.RawMessage            `json:"sep"`
	Cls           json.RawMessage            `json:"cls"`
	Processors    []json.RawMessage          `json:"processors"`
	TrimOffsets   *bool                      `json:"trim_offsets"`
	AddPrefix     *bool                      `json:"add_prefix_space"`
	UseRegex      *bool                      `json:"use_regex"`
}

type hfTemplateToken struct {
	ID     string   `json:"id"`
	IDs    []int    `json:"ids"`
	Tokens []string `json:"tokens"`
}

// parsePostProcessor builds a tokenizer.json post_processor; JSON null
// is nil (no special tokens are added). vocab checks that the ids the
// file names exist.
func parsePostProcessor(raw json.RawMessage, vocabSize int, name string) (postProcessor, error) {
	if isNull(raw) {
		return nil, nil
	}
	var p hfProcessor
	if err := unmarshalKnown(raw, &p); err != nil {
		return nil, fmt.Errorf("tokenizer: %s: post_processor: %v", name, err)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("tokenizer: %s: post_processor %s: "+format, append([]any{name, p.Type}, args...)...)
	}
	checkID := func(id int) error {
		if id < 0 || id >= vocabSize {
			return bad("id %d out of range [0, %d)", id, vocabSize)
		}
		return nil
	}
	switch p.Type {
	case "TemplateProcessing":
		single, err := parseTemplate(p.Single, p.SpecialTokens, checkID)
		if err != nil {
			return nil, bad("single: %v", err)
		}
		pair, err := parseTemplate(p.Pair, p.SpecialTokens, checkID)
		if err != nil {
			return nil, bad("pair: %v", err)
		}
		return templateProcessor{single, pair}, nil
	case "BertProcessing", "RobertaProcessing":
		sep, err := tokenIDPair(p.Sep)
		if err != nil {
			return nil, bad("sep: %v", err)
		}
		cls, err := tokenIDPair(p.Cls)
		if err != nil {
			return nil, bad("cls: %v", err)
		}
		if err := checkID(sep); err != nil {
			return nil, err
		}
		if err := checkID(cls); err != nil {
			return nil, err
		}
		c, s := templatePiece{ids: []int{cls}}, templatePiece{ids: []int{sep}}
		a, b := templatePiece{seq: 'A'}, templatePiece{seq: 'B', typeID: 1}
		s1 := templatePiece{ids: []int{sep}, typeID: 1}
		if p.Type == "BertProcessing" {
			// [CLS] A [SEP] and [CLS] A [SEP] B [SEP], B's part typed 1.
			return templateProcessor{
				single: []templatePiece{c, a, s},
				pair:   []templatePiece{c, a, s, b, s1},
			}, nil
		}
		// <s> A </s> and <s> A </s> </s> B </s>; RoBERTa types are all 0.
		b.typeID = 0
		return templateProcessor{
			single: []templatePiece{c, a, s},
			pair:   []templatePiece{c, a, s, s, b, s},
		}, nil
	case "ByteLevel":
		return noProcessor{}, nil
	case "Sequence":
		var seq seqProcessor
		for _, r := range p.Processors {
			q, err := parsePostProcessor(r, vocabSize, name)
			if err != nil {
				return nil, err
			}
			if q != nil {
				seq = append(seq, q)
			}
		}
		if len(seq) == 0 {
			return nil, nil
		}
		return seq, nil
	case "":
		return nil, fmt.Errorf("tokenizer: %s: post_processor has no type", name)
	}
	return nil, fmt.Errorf("tokenizer: %s: post_processor %q is not supported", name, p.Type)
}

// tokenIDPair reads BertProcessing's ["[SEP]", 102].
func tokenIDPair(raw json.RawMessage) (int, error) {
	var pair []json.RawMessage
	if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 {
		return 0, fmt.Errorf("not a [token, id] pair")
	}
	var id int
	if err := json.Unmarshal(pair[1], &id); err != nil {
		return 0, fmt.Errorf("id is not an integer")
	}
	return id, nil
}

func parseTemplate(items []json.RawMessage, specials map[string]hfTemplateToken, checkID func(int) error) ([]templatePiece, error) {
	var out []templatePiece
	for i, raw := range items {
		var it struct {
			SpecialToken *struct {
				ID     string `json:"id"`
				TypeID int    `json:"type_id"`
			} `json:"SpecialToken"`
			Sequence *struct {
				ID     string `json:"id"`
				TypeID int    `json:"type_id"`
			} `json:"Sequence"`
		}
		if err := unmarshalKnown(raw, &it); err != nil {
			return nil, fmt.Errorf("item %d: %v", i, err)
		}
		switch {
		case it.SpecialToken != nil && it.Sequence == nil:
			st, ok := specials[it.SpecialToken.ID]
			if !ok {
				return nil, fmt.Errorf("item %d: special token %q is not in special_tokens", i, it.SpecialToken.ID)
			}
			if len(st.IDs) == 0 {
				return nil, fmt.Errorf("special token %q has no ids", it.SpecialToken.ID)
			}
			for _, id := range st.IDs {
				if err := checkID(id); err != nil {
					return nil, err
				}
			}
			out = append(out, templatePiece{ids: st.IDs, typeID: it.SpecialToken.TypeID})
		case it.Sequence != nil && it.SpecialToken == nil:
			switch it.Sequence.ID {
			case "A", "B":
			default:
				return nil, fmt.Errorf("item %d: sequence %q is neither A nor B", i, it.Sequence.ID)
			}
			out = append(out, templatePiece{seq: it.Sequence.ID[0], typeID: it.Sequence.TypeID})
		default:
			return nil, fmt.Errorf("item %d is neither a SpecialToken nor a Sequence", i)
		}
	}
	return out, nil
}
