package train

import (
	"fmt"
	"strings"
)

// Tokenizer is a task's vocabulary as a tokenizer.Tokenizer: one symbol
// character per token ("0"…"9", and "+" for add), with the specials
// spelled "<pad>", "<bos>" and "<eos>". It lets the inference side of attn
// (generate, run, viz) read and print a trained model's inputs.
type Tokenizer struct {
	symbols []string // by id
	ids     map[rune]int
}

// NewTokenizer returns the tokenizer of task t.
func NewTokenizer(t Task) *Tokenizer {
	tk := &Tokenizer{symbols: make([]string, t.Vocab()), ids: map[rune]int{}}
	tk.symbols[PAD], tk.symbols[BOS], tk.symbols[EOS] = "<pad>", "<bos>", "<eos>"
	for id := FirstSymbol; id < t.Vocab(); id++ {
		s := t.Format([]int{id})
		tk.symbols[id] = s
		if r := []rune(s); len(r) == 1 {
			tk.ids[r[0]] = id
		}
	}
	return tk
}

// Encode turns each character of text into its symbol; a character that
// is not one of the task's is an error naming it.
func (tk *Tokenizer) Encode(text string) ([]int, error) {
	ids := make([]int, 0, len(text))
	for i, r := range text {
		id, ok := tk.ids[r]
		if !ok {
			return nil, fmt.Errorf("train: %q at byte %d of %q is not a symbol of this task (%s)", r, i, text, strings.Join(tk.symbols[FirstSymbol:], " "))
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// Decode spells ids, specials included.
func (tk *Tokenizer) Decode(ids []int) (string, error) {
	var b strings.Builder
	for i, id := range ids {
		if id < 0 || id >= len(tk.symbols) {
			return "", fmt.Errorf("train: token %d at index %d is outside the vocabulary [0, %d)", id, i, len(tk.symbols))
		}
		b.WriteString(tk.symbols[id])
	}
	return b.String(), nil
}

// VocabSize is the task's vocabulary size.
func (tk *Tokenizer) VocabSize() int { return len(tk.symbols) }
