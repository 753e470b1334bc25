package models

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/attn-go/attn/tokenizer"
)

// Sampling chooses the next token from logits. The zero value is greedy
// decoding (argmax, lowest id on ties, as llama2.c does).
//
// Otherwise the steps are, in Hugging Face's order: repetition penalty
// (CTRL: a seen token's positive logit is divided by the penalty, a
// negative one multiplied), temperature, top-k, softmax, top-p (the
// smallest set of most likely tokens whose probability reaches TopP; at
// least one token), then a draw from a PCG generator seeded by Seed.
type Sampling struct {
	Temperature       float64 // 0 = greedy
	TopK              int     // 0 = all tokens
	TopP              float64 // 0 or 1 = no nucleus cut
	RepetitionPenalty float64 // 0 or 1 = none
	Seed              uint64
}

// Validate reports settings outside their meaningful ranges.
func (s Sampling) Validate() error {
	switch {
	case !(s.Temperature >= 0) || math.IsInf(s.Temperature, 0):
		return fmt.Errorf("models: temperature %v, want a finite number >= 0", s.Temperature)
	case s.TopK < 0:
		return fmt.Errorf("models: top-k %d, want >= 0", s.TopK)
	case !(s.TopP >= 0 && s.TopP <= 1):
		return fmt.Errorf("models: top-p %v, want 0..1", s.TopP)
	case !(s.RepetitionPenalty >= 0) || math.IsInf(s.RepetitionPenalty, 0):
		return fmt.Errorf("models: repetition penalty %v, want a finite number >= 0 (1 = none)", s.RepetitionPenalty)
	}
	return nil
}

// Sampler draws tokens by a Sampling; it holds the random state, so one
// sequence's draws are reproducible from the seed.
type Sampler struct {
	Sampling
	rng   *rand.Rand
	probs []float64
	order []int
}

// NewSampler validates s and returns a sampler seeded by s.Seed.
func NewSampler(s Sampling) (*Sampler, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &Sampler{Sampling: s, rng: rand.New(rand.NewPCG(s.Seed, 0x9e3779b97f4a7c15))}, nil
}

// Next returns the next token given the logits of the last position and the
// tokens seen so far (for the repetition penalty). logits is not modified.
func (s *Sampler) Next(logits []float32, seen []int) int {
	p := s.RepetitionPenalty
	penal := p != 0 && p != 1
	val := func(i int) float64 {
		v := float64(logits[i])
		return v
	}
	if penal {
		adj := slices.Clone(logits)
		for _, id := range seen {
			if id >= 0 && id < len(adj) {
				if adj[id] > 0 {
					adj[id] = float32(float64(logits[id]) / p)
				} else {
					adj[id] = float32(float64(logits[id]) * p)
				}
			}
		}
		val = func(i int) float64 { return float64(adj[i]) }
	}
	if s.Temperature == 0 {
		best := 0
		for i := 1; i < len(logits); i++ {
			if val(i) > val(best) {
				best = i
			}
		}
		return best
	}
	n := len(logits)
	s.order = s.order[:0]
	for i := range n {
		s.order = append(s.order, i)
	}
	byLogit := func(a, b int) int {
		if c := cmp.Compare(val(b), val(a)); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	}
	keep := n
	if s.TopK > 0 && s.TopK < n {
		keep = s.TopK
	}
	if keep < n || (s.TopP > 0 && s.TopP < 1) {
		slices.SortFunc(s.order, byLogit)
		s.order = s.order[:keep]
	}
	s.probs = s.probs[:0]
	mx := math.Inf(-1)
	for _, i := range s.order {
		mx = max(mx, val(i)/s.Temperature)
	}
	var sum float64
	for _, i := range s.order {
		e := math.Exp(val(i)/s.Temperature - mx)
		s.probs = append(s.probs, e)
		sum += e
	}
	if s.TopP > 0 && s.TopP < 1 {
		var cum float64
		cut := len(s.probs)
		for j, e := range s.probs {
			cum += e / sum
			if cum >= s.TopP {
				cut = j + 1
				break
			}
		}
		s.probs, s.order = s.probs[:cut], s.order[:cut]
		sum = 0
		for _, e := range s.probs {
			sum += e
		}
	}
	r := s.rng.Float64() * sum
	for j, e := range s.probs {
		r -= e
		if r < 0 {
			return s.order[j]
		}
	}
	return s.order[len(s.order)-1]
}

// GenerateOptions configure Generate.
type GenerateOptions struct {
	MaxNew   int   // tokens to generate at most
	Stop     []int // stop tokens; nil means the model's (StopTokens)
	Sampling Sampling
	// OnToken, if set, receives each new token as soon as it is chosen
	// (streaming); returning an error stops generation with that error.
	OnToken func(id int) error
}

// GenerateStats reports how long each phase took.
type GenerateStats struct {
	PromptTokens, NewTokens int
	PromptTime, GenTime     time.Duration
	Stopped                 bool // ended on a stop token (not by MaxNew)
}

// PromptRate and GenRate are tokens per second of the two phases.
func (g GenerateStats) PromptRate() float64 { return rate(g.PromptTokens, g.PromptTime) }

// GenRate is generated tokens per second (decode phase).
func (g GenerateStats) GenRate() float64 { return rate(g.NewTokens, g.GenTime) }

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// StopTokens returns the tokens generation stops at by default.
func (m *Decoder) StopTokens() []int {
	var stops []int
	if m.Config.EOS >= 0 {
		stops = append(stops, m.Config.EOS)
	}
	return append(stops, m.Config.ExtraStops...)
}

// Generate runs the prompt through the model (one forward pass: the
// prompt phase), then samples up to MaxNew tokens one at a time through the
// KV cache. It returns the new tokens (the stop token excluded). The state
// must be empty or continue an earlier call; prompt plus new tokens must fit
// the state's length, checked before any work.
func (m *Decoder) Generate(s *State, prompt []int, opt GenerateOptions) ([]int, GenerateStats, error) {
	var st GenerateStats
	if len(prompt) == 0 {
		return nil, st, fmt.Errorf("models: empty prompt (start with the model's BOS token %d)", m.Config.BOS)
	}
	if opt.MaxNew < 0 {
		return nil, st, fmt.Errorf("models: max new tokens %d, want >= 0", opt.MaxNew)
	}
	if s == nil {
		return nil, st, fmt.Errorf("models: nil state (use NewState)")
	}
	if room := s.maxLen - s.Len(); len(prompt) > room {
		return nil, st, fmt.Errorf("models: prompt of %d tokens does not fit the %d positions left of the context (%d)", len(prompt), room, s.maxLen)
	}
	sampler, err := NewSampler(opt.Sampling)
	if err != nil {
		return nil, st, err
	}
	stops := opt.Stop
	if stops == nil {
		stops = m.StopTokens()
	}
	// The last token produced needs no forward pass, so prompt + MaxNew − 1
	// positions are used.
	maxNew := min(opt.MaxNew, s.maxLen-s.Len()-len(prompt)+1)
	seen := slices.Clone(prompt)
	t0 := time.Now()
	out, err := m.Forward(s, prompt, ForwardOptions{})
	if err != nil {
		return nil, st, err
	}
	st.PromptTokens, st.PromptTime = len(prompt), time.Since(t0)
	t1 := time.Now()
	var gen []int
	for len(gen) < maxNew {
		next := sampler.Next(out.Logits.Data(), seen)
		if slices.Contains(stops, next) {
			st.Stopped = true
			break
		}
		gen = append(gen, next)
		seen = append(seen, next)
		if opt.OnToken != nil {
			if err := opt.OnToken(next); err != nil {
				return gen, st, err
			}
		}
		if len(gen) == maxNew {
			break
		}
		if out, err = m.Forward(s, []int{next}, ForwardOptions{}); err != nil {
			return gen, st, err
		}
	}
	st.NewTokens, st.GenTime = len(gen), time.Since(t1)
	return gen, st, nil
}

// EncodePrompt turns text into the model's input with tok, placing the BOS
// token as Config.BOSRule says. Tokenizers that add BOS themselves
// (EncodeWith with AddBOS) are asked to, so that their own rules about the
// first token apply (SentencePiece's leading space, for one).
func (m *Decoder) EncodePrompt(tok tokenizer.Tokenizer, text string) ([]int, error) {
	c := m.Config
	var ids []int
	var err error
	be, canBOS := tok.(tokenizer.SpecialEncoder)
	switch {
	case c.BOS < 0:
		ids, err = tok.Encode(text)
	case c.BOSRule == BOSFirst && canBOS:
		ids, err = be.EncodeWith(text, tokenizer.EncodeOptions{AddBOS: true})
	case c.BOSRule == BOSFirst:
		if ids, err = tok.Encode(text); err == nil {
			ids = append([]int{c.BOS}, ids...)
		}
	case c.BOSRule == BOSAfter:
		if ids, err = tok.Encode(text); err == nil {
			ids = append(ids, c.BOS)
		}
	default:
		if ids, err = tok.Encode(text); err == nil && len(ids) == 0 {
			ids = []int{c.BOS}
		}
	}
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("models: the prompt encodes to no tokens and the model has no BOS token; give a non-empty prompt")
	}
	for i, id := range ids {
		if id < 0 || id >= c.Vocab {
			return nil, fmt.Errorf("models: the tokenizer gave token %d at index %d, outside the model's vocabulary [0, %d): they do not belong together", id, i, c.Vocab)
		}
	}
	return ids, nil
}
