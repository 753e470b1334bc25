package attention

import (
	"fmt"

	"github.com/attn-go/attn/tensor"
)

// KVCache holds one layer's keys and values for the positions a sequence
// has seen, so that decoding a new token projects only that token.
//
// Layout: keys [pos, Heads, HeadDim] and values [pos, Heads, ValueDim],
// position-major, which is the order projections produce them in; Keys and
// Values present them as the [1, Heads, S, ·] views ScaledDotProduct takes
// (strided, no copy). With grouped-query attention Heads is the number of
// key/value heads, and the query heads share them by index (no repeat).
//
// Storage grows by doubling up to MaxLen, so a short prompt does not pay
// for the whole context. A KVCache is not safe for concurrent use; use one
// per sequence.
type KVCache struct {
	Heads, HeadDim, ValueDim, MaxLen int

	n    int // committed positions
	k, v []float32
}

// NewKVCache returns an empty cache for up to maxLen positions.
func NewKVCache(maxLen, heads, headDim, valueDim int) (*KVCache, error) {
	if maxLen < 1 || heads < 1 || headDim < 1 || valueDim < 1 {
		return nil, fmt.Errorf("attention: kv cache maxLen=%d heads=%d headDim=%d valueDim=%d, want all >= 1", maxLen, heads, headDim, valueDim)
	}
	if _, err := tensor.NumElements(maxLen, heads, max(headDim, valueDim)); err != nil {
		return nil, fmt.Errorf("attention: kv cache: %w", err)
	}
	return &KVCache{Heads: heads, HeadDim: headDim, ValueDim: valueDim, MaxLen: maxLen}, nil
}

// Len returns the number of committed positions.
func (c *KVCache) Len() int { return c.n }

// Reset forgets every position (the storage is kept for reuse).
func (c *KVCache) Reset() { c.n = 0 }

// Truncate forgets the positions from n on.
func (c *KVCache) Truncate(n int) error {
	if n < 0 || n > c.n {
		return fmt.Errorf("attention: kv cache truncate to %d, have %d positions", n, c.n)
	}
	c.n = n
	return nil
}

// Slots returns the rows for the next T positions, keys [T, Heads·HeadDim]
// and values [T, Heads·ValueDim], contiguous, for the caller to write. They
// become part of the cache only with Commit(T). Asking for more than
// MaxLen positions in all is an error.
func (c *KVCache) Slots(T int) (k, v []float32, err error) {
	if T < 0 || T > c.MaxLen-c.n {
		return nil, nil, fmt.Errorf("attention: kv cache holds %d of %d positions; %d more do not fit", c.n, c.MaxLen, T)
	}
	need := c.n + T
	if kw := c.Heads * c.HeadDim; need*kw > len(c.k) {
		capacity := min(c.MaxLen, max(need, 2*len(c.k)/kw, 16))
		if err := tensor.CheckBudget(fmt.Sprintf("attention: kv cache of %d positions", capacity), capacity*c.Heads*max(c.HeadDim, c.ValueDim)); err != nil {
			return nil, nil, err
		}
		c.k = regrow(c.k, capacity*kw, c.n*kw)
		c.v = regrow(c.v, capacity*c.Heads*c.ValueDim, c.n*c.Heads*c.ValueDim)
	}
	kw, vw := c.Heads*c.HeadDim, c.Heads*c.ValueDim
	return c.k[c.n*kw : need*kw], c.v[c.n*vw : need*vw], nil
}

func regrow(s []float32, n, keep int) []float32 {
	t := make([]float32, n)
	copy(t, s[:keep])
	return t
}

// Commit adds the T positions last handed out by Slots.
func (c *KVCache) Commit(T int) {
	if T < 0 || (c.n+T)*c.Heads*c.HeadDim > len(c.k) {
		panic(fmt.Sprintf("attention: kv cache commit of %d positions without slots", T))
	}
	c.n += T
}

// Views returns keys [1, Heads, S, HeadDim] and values [1, Heads, S,
// ValueDim] over the first S positions, committed or handed out by Slots.
func (c *KVCache) Views(S int) (k, v *tensor.Tensor, err error) {
	kw, vw := c.Heads*c.HeadDim, c.Heads*c.ValueDim
	if S < 0 || S*kw > len(c.k) {
		return nil, nil, fmt.Errorf("attention: kv cache view of %d positions, have %d", S, len(c.k)/max(kw, 1))
	}
	if k, err = tensor.View(c.k, 0, []int{1, c.Heads, S, c.HeadDim}, []int{len(c.k), c.HeadDim, kw, 1}); err != nil {
		return nil, nil, err
	}
	if v, err = tensor.View(c.v, 0, []int{1, c.Heads, S, c.ValueDim}, []int{len(c.v), c.ValueDim, vw, 1}); err != nil {
		return nil, nil, err
	}
	return k, v, nil
}
