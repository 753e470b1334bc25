package train

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// Token ids shared by every task: padding, start and end of sequence.
// Task symbols start at FirstSymbol.
const (
	PAD         = 0
	BOS         = 1
	EOS         = 2
	FirstSymbol = 3
)

// Task is a synthetic sequence-to-sequence problem generated in-process.
// Example must depend only on the generator it is given, so a seeded
// stream of examples is reproducible (and resumable by index).
type Task interface {
	Name() string
	// Vocab is the number of token ids, specials included.
	Vocab() int
	// MaxSrc and MaxTgt bound the lengths of src and tgt (EOS excluded).
	MaxSrc() int
	MaxTgt() int
	Example(rng *rand.Rand) (src, tgt []int)
	// Format renders ids (specials dropped) for people.
	Format(ids []int) string
}

// TaskNames lists the tasks NewTask knows.
var TaskNames = []string{"copy", "reverse", "sort", "add"}

// NewTask returns a task by name, with sequences of MinLen..MaxLen symbols
// from an alphabet of 10 (copy, reverse, sort; lengths 8–16), or
// additions of two numbers of up to 4 digits (add).
func NewTask(name string) (Task, error) {
	switch name {
	case "copy", "reverse", "sort":
		return &seqTask{name: name, symbols: 10, minLen: 8, maxLen: 16}, nil
	case "add":
		return &addTask{digits: 4}, nil
	}
	return nil, fmt.Errorf("train: unknown task %q (known: %s)", name, strings.Join(TaskNames, ", "))
}

// seqTask maps a random symbol sequence to itself, its reverse or its
// sorted form.
type seqTask struct {
	name                    string
	symbols, minLen, maxLen int
}

func (t *seqTask) Name() string { return t.name }
func (t *seqTask) Vocab() int   { return FirstSymbol + t.symbols }
func (t *seqTask) MaxSrc() int  { return t.maxLen }
func (t *seqTask) MaxTgt() int  { return t.maxLen }

func (t *seqTask) Example(rng *rand.Rand) (src, tgt []int) {
	n := t.minLen + rng.IntN(t.maxLen-t.minLen+1)
	src = make([]int, n)
	for i := range src {
		src[i] = FirstSymbol + rng.IntN(t.symbols)
	}
	tgt = slices.Clone(src)
	switch t.name {
	case "reverse":
		slices.Reverse(tgt)
	case "sort":
		slices.Sort(tgt)
	}
	return src, tgt
}

func (t *seqTask) Format(ids []int) string {
	var b strings.Builder
	for _, id := range ids {
		if id >= FirstSymbol && id < t.Vocab() {
			b.WriteByte("0123456789abcdefghijklmnopqrstuvwxyz"[(id-FirstSymbol)%36])
		}
	}
	return b.String()
}

// addTask is "a+b" → the digits of a+b, most significant first.
type addTask struct{ digits int }

const plusToken = FirstSymbol + 10

func (t *addTask) Name() string { return "add" }
func (t *addTask) Vocab() int   { return FirstSymbol + 11 }
func (t *addTask) MaxSrc() int  { return 2*t.digits + 1 }
func (t *addTask) MaxTgt() int  { return t.digits + 1 }

func (t *addTask) Example(rng *rand.Rand) (src, tgt []int) {
	// Operands of 1..digits digits, uniform in their digit count, so short
	// sums are not drowned by long ones.
	operand := func() int {
		d := 1 + rng.IntN(t.digits)
		if d == 1 {
			return rng.IntN(10)
		}
		lo := 1
		for range d - 1 {
			lo *= 10
		}
		return lo + rng.IntN(9*lo)
	}
	a, b := operand(), operand()
	src = append(digitsOf(a), plusToken)
	src = append(src, digitsOf(b)...)
	return src, digitsOf(a + b)
}

func digitsOf(n int) []int {
	s := fmt.Sprint(n)
	out := make([]int, len(s))
	for i, c := range s {
		out[i] = FirstSymbol + int(c-'0')
	}
	return out
}

func (t *addTask) Format(ids []int) string {
	var b strings.Builder
	for _, id := range ids {
		switch {
		case id == plusToken:
			b.WriteByte('+')
		case id >= FirstSymbol && id < FirstSymbol+10:
			b.WriteByte(byte('0' + id - FirstSymbol))
		}
	}
	return b.String()
}

// Batch is B examples, padded: Src [B·S] with lengths SrcLen, decoder
// input TgtIn [B·T] (BOS then the target) and labels TgtOut [B·T] (the
// target then EOS, Ignore where padded).
type Batch struct {
	B, S, T       int
	Src           []int
	SrcLen        []int
	TgtIn, TgtOut []int
	Targets       [][]int // the unpadded targets, for exact-match scoring
	Sources       [][]int
}

// Ignore marks label positions that do not count in the loss.
const Ignore = -1

// MakeBatch draws B examples from task with generators seeded by (seed,
// first+i): example i of a run is the same whatever the batch it falls in,
// which is what makes resuming exact.
func MakeBatch(task Task, seed uint64, first uint64, B int) *Batch {
	bt := &Batch{B: B}
	for i := range B {
		rng := rand.New(rand.NewPCG(seed, first+uint64(i)))
		src, tgt := task.Example(rng)
		bt.Sources = append(bt.Sources, src)
		bt.Targets = append(bt.Targets, tgt)
		bt.S = max(bt.S, len(src))
		bt.T = max(bt.T, len(tgt)+1)
	}
	bt.Src = make([]int, B*bt.S)
	bt.TgtIn = make([]int, B*bt.T)
	bt.TgtOut = make([]int, B*bt.T)
	for i := range B {
		src, tgt := bt.Sources[i], bt.Targets[i]
		bt.SrcLen = append(bt.SrcLen, len(src))
		copy(bt.Src[i*bt.S:], src)
		in, out := bt.TgtIn[i*bt.T:(i+1)*bt.T], bt.TgtOut[i*bt.T:(i+1)*bt.T]
		in[0] = BOS
		copy(in[1:], tgt)
		copy(out, tgt)
		out[len(tgt)] = EOS
		for j := len(tgt) + 1; j < bt.T; j++ {
			out[j] = Ignore
		}
	}
	return bt
}

// ParseInput reads an input the way Format writes it: symbols 0-9 for
// copy, reverse and sort, "a+b" for add. Lengths must fit the task.
func ParseInput(t Task, s string) ([]int, error) {
	var ids []int
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			ids = append(ids, FirstSymbol+int(r-'0'))
		case r == '+' && t.Name() == "add":
			ids = append(ids, plusToken)
		default:
			return nil, fmt.Errorf("train: input %q: %q is not a symbol of task %s", s, r, t.Name())
		}
	}
	if len(ids) == 0 || len(ids) > t.MaxSrc() {
		return nil, fmt.Errorf("train: input of %d symbols, task %s takes 1..%d", len(ids), t.Name(), t.MaxSrc())
	}
	if t.Name() == "add" {
		n := 0
		for _, id := range ids {
			if id == plusToken {
				n++
			}
		}
		if n != 1 || ids[0] == plusToken || ids[len(ids)-1] == plusToken {
			return nil, fmt.Errorf("train: input %q: want two numbers joined by one +", s)
		}
	}
	return ids, nil
}
