package attention

import (
	"fmt"
	"math"

	"github.com/attn-go/attn/tensor"
)

// Mask restricts which keys each query may attend to, or biases the scores.
//
// Dimensions: B batch, H query heads, T queries, S keys. Query i of batch b
// and head h may attend to key j when every mask in use allows it; additive
// masks add their value to the score before the softmax.
//
// The set of masks is closed (the interface has unexported methods), so that
// every kind has a stated polarity and a stated alignment:
//
//   - Causal: key j allowed when j <= i (top-left) or j <= i+S-T
//     (bottom-right, for decoding with a cache).
//   - SlidingWindow: causal, and only the last Size keys up to the diagonal.
//   - KeyLengths: per batch, keys j < lengths[b] allowed (key padding by
//     lengths).
//   - BoolMask: an explicit "allowed" boolean tensor (true = may attend),
//     from NewAllowedMask, NewKeyPaddingMask or the PyTorch adapters
//     TorchAttnMask and TorchKeyPaddingMask (true = masked out).
//   - AdditiveMask: a float tensor added to the scores; -Inf disallows.
//
// Compact masks (Causal, SlidingWindow, KeyLengths) never build a T×S
// tensor.
type Mask interface {
	// validate checks that the mask fits attention over B batches, H heads,
	// T queries and S keys.
	validate(d Dims) error
	// row describes the mask for query i of batch b, head h. Keys outside
	// [lo,hi) are disallowed; allowed (if non-nil, length S) disallows
	// more; bias (if non-nil, length S) is added to the scores.
	row(d Dims, b, h, i int) maskRow
	String() string
}

// Dims are the sizes of one attention call: B batches, H query heads, T
// queries and S keys per head.
type Dims struct{ B, H, T, S int }

type maskRow struct {
	lo, hi  int
	allowed []bool
	bias    []float32
}

// Alignment says where the diagonal of a causal mask sits when T != S.
type Alignment int

const (
	// TopLeft aligns query i with key i: query i sees keys 0..i. This is
	// PyTorch's convention (torch.ones(T,S).tril()).
	TopLeft Alignment = iota
	// BottomRight aligns the last query with the last key: query i sees
	// keys 0..i+S-T. Use it when the T new queries follow S-T cached keys.
	BottomRight
)

func (a Alignment) String() string {
	if a == BottomRight {
		return "bottom-right"
	}
	return "top-left"
}

func (a Alignment) offset(T, S int) int {
	if a == BottomRight {
		return S - T
	}
	return 0
}

// Causal masks out future keys. See Alignment for T != S.
type Causal struct {
	Align Alignment
}

func (c Causal) validate(Dims) error { return nil }

func (c Causal) row(d Dims, b, h, i int) maskRow {
	return maskRow{lo: 0, hi: clampInt(i+c.Align.offset(d.T, d.S)+1, 0, d.S)}
}

func (c Causal) String() string { return "causal(" + c.Align.String() + ")" }

// SlidingWindow is a causal mask that also forgets keys more than Size-1
// positions before the diagonal: query i sees keys d-Size+1..d, where d is
// its diagonal key (i, or i+S-T for BottomRight).
type SlidingWindow struct {
	Size  int
	Align Alignment
}

func (w SlidingWindow) validate(Dims) error {
	if w.Size < 1 {
		return fmt.Errorf("attention: sliding window size is %d, want >= 1", w.Size)
	}
	return nil
}

func (w SlidingWindow) row(d Dims, b, h, i int) maskRow {
	diag := i + w.Align.offset(d.T, d.S)
	return maskRow{lo: clampInt(diag-w.Size+1, 0, d.S), hi: clampInt(diag+1, 0, d.S)}
}

func (w SlidingWindow) String() string {
	return fmt.Sprintf("sliding-window(%d, %s)", w.Size, w.Align)
}

// KeyLengths is key padding by lengths: in batch b only the first
// KeyLengths[b] keys are real; the rest are padding and disallowed.
type KeyLengths []int

func (l KeyLengths) validate(d Dims) error {
	if len(l) != d.B {
		return fmt.Errorf("attention: key lengths has %d entries, want B=%d", len(l), d.B)
	}
	for b, n := range l {
		if n < 0 || n > d.S {
			return fmt.Errorf("attention: key length %d of batch %d is outside [0, S=%d]", n, b, d.S)
		}
	}
	return nil
}

func (l KeyLengths) row(d Dims, b, h, i int) maskRow { return maskRow{lo: 0, hi: l[b]} }

func (l KeyLengths) String() string { return fmt.Sprintf("key-lengths%v", []int(l)) }

// grid locates the [T,S] slice of a mask stored with leading dimensions that
// broadcast over batch and head. The forms are:
//
//	[T,S]        one mask for every batch and head
//	[N,T,S]      PyTorch's 3-D form: N = B·H (index b·H+h) or N = 1
//	[Bm,Hm,T,S]  Bm ∈ {1,B}, Hm ∈ {1,H}: per batch, per head, or both
//	keyPad       [B,S], the same row for every query and head
type grid struct {
	shape  []int
	keyPad bool
}

func newGrid(shape []int, keyPad bool) (grid, error) {
	if _, err := tensor.NumElements(shape...); err != nil {
		return grid{}, err
	}
	if keyPad {
		if len(shape) != 2 {
			return grid{}, fmt.Errorf("key padding mask has shape %v, want [B S]", shape)
		}
	} else if len(shape) < 2 || len(shape) > 4 {
		return grid{}, fmt.Errorf("mask has shape %v, want [T S], [B*H T S] or [B H T S]", shape)
	}
	return grid{shape: append([]int(nil), shape...), keyPad: keyPad}, nil
}

func (g grid) validate(what string, d Dims) error {
	B, H, T, S := d.B, d.H, d.T, d.S
	s := g.shape
	r := len(s)
	if g.keyPad {
		if s[0] != B || s[1] != S {
			return fmt.Errorf("attention: %s has shape %v, want [B=%d S=%d]", what, s, B, S)
		}
		return nil
	}
	if s[r-2] != T || s[r-1] != S {
		return fmt.Errorf("attention: %s has shape %v, want its last two dimensions [T=%d S=%d]", what, s, T, S)
	}
	switch r {
	case 3:
		if s[0] != B*H && s[0] != 1 {
			return fmt.Errorf("attention: %s has shape %v, want [B*H=%d T=%d S=%d] (3-D masks are per batch and head, index b*H+h)", what, s, B*H, T, S)
		}
	case 4:
		if (s[0] != B && s[0] != 1) || (s[1] != H && s[1] != 1) {
			return fmt.Errorf("attention: %s has shape %v, want [B=%d or 1, H=%d or 1, T=%d, S=%d]", what, s, B, H, T, S)
		}
	}
	return nil
}

// start returns the index of element (b, h, i, 0) in the flat data.
func (g grid) start(b, h, i, H int) int {
	s := g.shape
	r := len(s)
	if g.keyPad {
		return b * s[1]
	}
	T, S := s[r-2], s[r-1]
	n := 0
	switch r {
	case 3:
		if s[0] != 1 {
			n = b*H + h
		}
	case 4:
		if s[0] != 1 {
			n = b * s[1]
		}
		if s[1] != 1 {
			n += h
		}
	}
	return (n*T + i) * S
}

// BoolMask is an explicit boolean mask in the "allowed" polarity: true means
// the query may attend to the key. Build it with NewAllowedMask,
// NewKeyPaddingMask, TorchAttnMask or TorchKeyPaddingMask.
type BoolMask struct {
	allowed []bool
	g       grid
	name    string
}

// NewAllowedMask wraps allowed (true = may attend) of shape [T,S], [B*H,T,S]
// or [B|1,H|1,T,S]. The slice is not copied.
func NewAllowedMask(allowed []bool, shape ...int) (*BoolMask, error) {
	return newBoolMask("allowed mask", allowed, shape, false)
}

// NewKeyPaddingMask wraps valid [B,S]: true marks a real key, false a
// padding key that no query may attend to. The slice is not copied.
func NewKeyPaddingMask(valid []bool, B, S int) (*BoolMask, error) {
	return newBoolMask("key padding mask", valid, []int{B, S}, true)
}

// TorchAttnMask adapts a boolean attn_mask in PyTorch nn.MultiheadAttention's
// polarity, where true means "masked out" (not allowed). Shapes as for
// NewAllowedMask. The input is not modified; the mask holds its inverse.
func TorchAttnMask(maskedOut []bool, shape ...int) (*BoolMask, error) {
	return newBoolMask("attn_mask", invert(maskedOut), shape, false)
}

// TorchKeyPaddingMask adapts PyTorch's key_padding_mask [B,S], where true
// means "this key is padding, ignore it".
func TorchKeyPaddingMask(isPad []bool, B, S int) (*BoolMask, error) {
	return newBoolMask("key_padding_mask", invert(isPad), []int{B, S}, true)
}

func invert(v []bool) []bool {
	out := make([]bool, len(v))
	for i, x := range v {
		out[i] = !x
	}
	return out
}

func newBoolMask(name string, allowed []bool, shape []int, keyPad bool) (*BoolMask, error) {
	g, err := newGrid(shape, keyPad)
	if err != nil {
		return nil, fmt.Errorf("attention: %s: %w", name, err)
	}
	if n, _ := tensor.NumElements(shape...); n != len(allowed) {
		return nil, fmt.Errorf("attention: %s has %d values, shape %v needs %d", name, len(allowed), shape, n)
	}
	return &BoolMask{allowed: allowed, g: g, name: name}, nil
}

func (m *BoolMask) validate(d Dims) error { return m.g.validate(m.name, d) }

func (m *BoolMask) row(d Dims, b, h, i int) maskRow {
	p := m.g.start(b, h, i, d.H)
	return maskRow{lo: 0, hi: d.S, allowed: m.allowed[p : p+d.S]}
}

func (m *BoolMask) String() string { return fmt.Sprintf("%s%v", m.name, m.g.shape) }

// AdditiveMask adds a float tensor to the scores before the softmax, as
// PyTorch's float attn_mask does. -Inf disallows a key; NaN and +Inf are
// rejected when the mask is made.
type AdditiveMask struct {
	bias []float32
	g    grid
}

// NewAdditiveMask wraps t of shape [T,S], [B*H,T,S] or [B|1,H|1,T,S].
// Non-contiguous tensors are copied.
func NewAdditiveMask(t *tensor.Tensor) (*AdditiveMask, error) {
	if t == nil {
		return nil, fmt.Errorf("attention: additive mask is nil")
	}
	g, err := newGrid(t.Shape(), false)
	if err != nil {
		return nil, fmt.Errorf("attention: additive mask: %w", err)
	}
	v := t.Values()
	for k, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 1) {
			return nil, fmt.Errorf("attention: additive mask has %v at index %v; only finite values and -Inf are allowed", x, tensor.Unravel(k, t.Shape()))
		}
	}
	return &AdditiveMask{bias: v, g: g}, nil
}

func (m *AdditiveMask) validate(d Dims) error { return m.g.validate("additive mask", d) }

func (m *AdditiveMask) row(d Dims, b, h, i int) maskRow {
	p := m.g.start(b, h, i, d.H)
	return maskRow{lo: 0, hi: d.S, bias: m.bias[p : p+d.S]}
}

func (m *AdditiveMask) String() string { return fmt.Sprintf("additive%v", m.g.shape) }

// applyMasks adds the masks' verdict for query (b, h, i) to a row of S
// scores: disallowed keys become -Inf, additive biases are added. It
// returns the range [lo,hi) outside which every key is disallowed.
func applyMasks[F float32 | float64](masks []Mask, d Dims, b, h, i int, scores []F) (lo, hi int) {
	S := d.S
	negInf := F(math.Inf(-1))
	lo, hi = 0, S
	for _, m := range masks {
		r := m.row(d, b, h, i)
		lo, hi = max(lo, r.lo), min(hi, r.hi)
		for j, ok := range r.allowed {
			if !ok {
				scores[j] = negInf
			}
		}
		for j, v := range r.bias {
			scores[j] += F(v)
		}
	}
	if hi < lo {
		hi = lo
	}
	for j := 0; j < lo; j++ {
		scores[j] = negInf
	}
	for j := hi; j < S; j++ {
		scores[j] = negInf
	}
	return lo, hi
}

func validateMasks(masks []Mask, d Dims) error {
	for k, m := range masks {
		if m == nil {
			return fmt.Errorf("attention: mask %d is nil", k)
		}
		if err := m.validate(d); err != nil {
			return err
		}
	}
	return nil
}

func clampInt(x, lo, hi int) int { return min(max(x, lo), hi) }
