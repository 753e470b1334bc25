package attention

import (
	"fmt"
	"math"

	"github.com/attn-go/attn/tensor"
)

// RoPELayout says which pairs of a head's dimensions rotary position
// embedding rotates together. Checkpoints differ, and using the wrong one
// gives a model that runs but talks nonsense.
type RoPELayout int

const (
	// RoPEHalf pairs dimension i with i + Dim/2 (Hugging Face's
	// rotate_half, used by its Llama, Qwen2 and Mistral checkpoints).
	RoPEHalf RoPELayout = iota
	// RoPEInterleaved pairs dimensions 2i and 2i+1 (the original RoFormer
	// and Meta Llama layout, and llama2.c).
	RoPEInterleaved
)

func (l RoPELayout) String() string {
	if l == RoPEInterleaved {
		return "interleaved"
	}
	return "half"
}

// RoPE is rotary position embedding (Su et al., 2021): pair p of a query or
// key head at position pos is rotated by the angle pos·Theta^(−2p/Dim).
// Dim is the number of rotated dimensions (even, at most the head
// dimension; the rest pass through unchanged, as in partial-rotary models).
type RoPE struct {
	Dim    int
	Theta  float64
	Layout RoPELayout
}

// Check reports whether r is usable with heads of dimension dh.
func (r RoPE) Check(dh int) error {
	switch {
	case r.Dim < 2 || r.Dim%2 != 0:
		return fmt.Errorf("attention: rope dimension %d, want an even number >= 2", r.Dim)
	case r.Dim > dh:
		return fmt.Errorf("attention: rope dimension %d exceeds the head dimension %d", r.Dim, dh)
	case !(r.Theta > 1) || math.IsInf(r.Theta, 0):
		return fmt.Errorf("attention: rope theta %v, want a finite number > 1", r.Theta)
	case r.Layout != RoPEHalf && r.Layout != RoPEInterleaved:
		return fmt.Errorf("attention: unknown rope layout %d", r.Layout)
	}
	return nil
}

// RoPETable holds cos and sin of the rotation angles for T consecutive
// positions: cos[t·Dim/2 + p] for position Pos0+t and pair p. One table
// serves every layer and head of a forward pass.
type RoPETable struct {
	RoPE
	Pos0, T  int
	cos, sin []float32
}

// Table computes the angles of positions pos0 … pos0+T−1. Angles are
// formed and their cos and sin evaluated in float64, then rounded once, so
// even at position 10⁶ the rotation is correct to float32 precision.
func (r RoPE) Table(pos0, T int) (*RoPETable, error) {
	if err := r.Check(r.Dim); err != nil {
		return nil, err
	}
	if pos0 < 0 || T < 0 || pos0 > math.MaxInt32-T {
		return nil, fmt.Errorf("attention: rope positions [%d, %d+%d) out of range", pos0, pos0, T)
	}
	half := r.Dim / 2
	if _, err := tensor.NumElements(T, half); err != nil {
		return nil, fmt.Errorf("attention: rope table: %w", err)
	}
	tb := &RoPETable{RoPE: r, Pos0: pos0, T: T, cos: make([]float32, T*half), sin: make([]float32, T*half)}
	inv := make([]float64, half)
	for p := range inv {
		inv[p] = math.Pow(r.Theta, -float64(2*p)/float64(r.Dim))
	}
	for t := range T {
		pos := float64(pos0 + t)
		for p, f := range inv {
			s, c := math.Sincos(pos * f)
			tb.cos[t*half+p], tb.sin[t*half+p] = float32(c), float32(s)
		}
	}
	return tb, nil
}

// ApplyRows rotates heads in place in a flat buffer: row t (position
// Pos0+t) of x starts at x[off + t·ld], and holds heads heads of dh values
// each, head h at offset h·dh within the row. Shapes: x [T, ≥heads·dh] with
// leading dimension ld. It panics if the buffer is too short (an internal
// error: callers validate shapes).
func (tb *RoPETable) ApplyRows(x []float32, off, ld, heads, dh int) {
	half := tb.Dim / 2
	for t := range tb.T {
		c, s := tb.cos[t*half:(t+1)*half], tb.sin[t*half:(t+1)*half]
		for h := range heads {
			v := x[off+t*ld+h*dh : off+t*ld+h*dh+tb.Dim]
			if tb.Layout == RoPEInterleaved {
				for p := range half {
					a, b := v[2*p], v[2*p+1]
					v[2*p] = a*c[p] - b*s[p]
					v[2*p+1] = a*s[p] + b*c[p]
				}
			} else {
				lo, hi := v[:half], v[half:]
				for p := range half {
					a, b := lo[p], hi[p]
					lo[p] = a*c[p] - b*s[p]
					hi[p] = a*s[p] + b*c[p]
				}
			}
		}
	}
}

// Apply rotates x [B,H,T,Dh] (any strides with the innermost one 1) in place
// for positions pos0 … pos0+T−1.
func (r RoPE) Apply(x *tensor.Tensor, pos0 int) error {
	if x == nil || x.Rank() != 4 {
		var got []int
		if x != nil {
			got = x.Shape()
		}
		return fmt.Errorf("attention: rope input has shape %v, want [B H T Dh]", got)
	}
	if !x.RowContiguous() {
		return fmt.Errorf("attention: rope input has strides %v; the innermost stride must be 1", x.Strides())
	}
	if err := r.Check(x.Dim(3)); err != nil {
		return err
	}
	tb, err := r.Table(pos0, x.Dim(2))
	if err != nil {
		return err
	}
	for b := range x.Dim(0) {
		for h := range x.Dim(1) {
			base := x.Offset() + b*x.Stride(0) + h*x.Stride(1)
			tb.ApplyRows(x.Data(), base, x.Stride(2), 1, x.Dim(3))
		}
	}
	return nil
}
