package attention

// Shape legend for this file:
//   B  batch            H    query heads       Hkv  key/value heads (H % Hkv == 0)
//   T  queries per head S    keys per head     Dh   query/key head dim
//   Dv value head dim

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/attn-go/attn/kernel"
	"github.com/attn-go/attn/tensor"
)

// Options configure one scaled dot-product attention call. The zero value
// is plain attention with scale 1/sqrt(Dh), no mask, no dropout.
type Options struct {
	// Scale multiplies q·kᵀ. Zero means 1/sqrt(Dh).
	Scale float32
	// Masks are combined: a key is allowed only if every mask allows it,
	// and additive masks add up.
	Masks []Mask
	// Dropout drops attention weights after the softmax (training only).
	Dropout Dropout
	// Weights, if not nil, receives the attention weights [B,H,T,S] (after
	// dropout, as PyTorch returns them).
	Weights *tensor.Tensor
}

// Dropout zeroes each attention weight with probability P and scales the
// survivors by 1/(1-P). P = 0 (the default) is evaluation mode. Rand is the
// explicit, seeded source of randomness and is required when P > 0; draws
// are made in (b, h, i, j) order, one per weight, so a seed fixes the mask.
type Dropout struct {
	P    float64
	Rand *rand.Rand
}

func (d Dropout) validate() error {
	if d.P == 0 {
		return nil
	}
	if !(d.P > 0 && d.P < 1) {
		return fmt.Errorf("attention: dropout probability %v is outside [0, 1)", d.P)
	}
	if d.Rand == nil {
		return fmt.Errorf("attention: dropout %v needs a seeded Rand source", d.P)
	}
	return nil
}

// ScaledDotProduct computes out = softmax(q·kᵀ·scale + masks)·v per batch
// and head.
//
// Shapes: q [B,H,T,Dh], k [B,Hkv,S,Dh], v [B,Hkv,S,Dv], out [B,H,T,Dv]; query
// head h reads key/value head h/(H/Hkv) (grouped-query attention when
// Hkv < H). Tensors may be strided views (e.g. a [B,T,H,Dh] buffer permuted
// to [B,H,T,Dh]) but their innermost dimension must have stride 1. out must
// not overlap the inputs.
//
// It runs the fused tiled kernel (no T×S buffer; weights, when asked for,
// are recomputed from the row log-sum-exp), or the reference path when
// dropout is on. The softmax subtracts each row's maximum, so any finite
// scores are safe. A query row whose keys are all disallowed gets zero
// weights and a zero output row (PyTorch 1.13 returns NaN there). A
// non-finite result is an error naming the input that holds NaN or ±Inf, or
// reporting an overflow; NaN in a key the masks exclude does not reach the
// result and is not an error.
func ScaledDotProduct(out, q, k, v *tensor.Tensor, opt Options) error {
	return sdpa(out, q, k, v, opt, opt.Dropout.P == 0, true)
}

// ScaledDotProductRef is the readable reference twin of ScaledDotProduct:
// one query row at a time, the full score row, softmax, weighted sum. Same
// contract; the fused kernel is tested against it.
func ScaledDotProductRef(out, q, k, v *tensor.Tensor, opt Options) error {
	return sdpa(out, q, k, v, opt, false, true)
}

// sdpa validates and runs one of the two paths. checkValues checks the
// output for NaN/Inf (and then finds the cause); the multi-head module,
// which checks its own final output, turns it off.
func sdpa(out, q, k, v *tensor.Tensor, opt Options, fused, checkValues bool) error {
	d, err := checkSDPA(out, q, k, v, opt)
	if err != nil {
		return err
	}
	Dh := q.Dim(3)
	scale := opt.Scale
	if scale == 0 {
		scale = float32(1 / math.Sqrt(float64(Dh)))
	}
	var w operand[float32]
	if opt.Weights != nil {
		w = operandOf(opt.Weights)
	}
	if fused {
		flashForward(d, k.Dim(1), Dh, v.Dim(3), scale, operandOf(q), operandOf(k), operandOf(v), operandOf(out), w, opt.Masks, nil)
	} else {
		sdpaCore(d, k.Dim(1), Dh, v.Dim(3), scale, operandOf(q), operandOf(k), operandOf(v), operandOf(out), w, opt.Masks, opt.Dropout)
	}
	if !checkValues {
		return nil
	}
	return checkOutput(out, "the scores", named{"query", q}, named{"key", k}, named{"value", v})
}

type named struct {
	name string
	t    *tensor.Tensor
}

// checkOutput returns nil when out is finite. Otherwise it explains why:
// the first input holding NaN or ±Inf (inputs are scanned only now, on the
// error path, so the common case costs one pass over the small output), or
// else an overflow of what stage computed.
func checkOutput(out *tensor.Tensor, stage string, inputs ...named) error {
	idx, bad := out.FirstNonFinite()
	if !bad {
		return nil
	}
	for _, in := range inputs {
		if err := CheckFinite("attention: "+in.name, in.t); err != nil {
			return err
		}
	}
	return fmt.Errorf("attention: output %v at %v is not finite: %s overflowed float32 (inputs or weights too large)", out.At(idx...), idx, stage)
}

func checkSDPA(out, q, k, v *tensor.Tensor, opt Options) (Dims, error) {
	for _, a := range []struct {
		name string
		t    *tensor.Tensor
	}{{"query", q}, {"key", k}, {"value", v}, {"output", out}} {
		if a.t == nil {
			return Dims{}, fmt.Errorf("attention: %s is nil", a.name)
		}
		if a.t.Rank() != 4 {
			return Dims{}, fmt.Errorf("attention: %s has shape %v, want rank 4", a.name, a.t.Shape())
		}
		if !a.t.RowContiguous() {
			return Dims{}, fmt.Errorf("attention: %s has strides %v; the innermost stride must be 1", a.name, a.t.Strides())
		}
	}
	B, H, T, Dh := q.Dim(0), q.Dim(1), q.Dim(2), q.Dim(3)
	Hkv, S := k.Dim(1), k.Dim(2)
	if Dh < 1 {
		return Dims{}, fmt.Errorf("attention: query has shape %v; the head dimension must be at least 1", q.Shape())
	}
	if Hkv < 1 || H%Hkv != 0 {
		return Dims{}, fmt.Errorf("attention: key has %d heads, which does not divide the %d query heads", Hkv, H)
	}
	if err := tensor.CheckShape("attention: key", k, []int{B, Hkv, S, Dh}, "B", "Hkv", "S", "Dh"); err != nil {
		return Dims{}, err
	}
	if err := tensor.CheckShape("attention: value", v, []int{B, Hkv, S, -1}, "B", "Hkv", "S", "Dv"); err != nil {
		return Dims{}, err
	}
	Dv := v.Dim(3)
	if err := tensor.CheckShape("attention: output", out, []int{B, H, T, Dv}, "B", "H", "T", "Dv"); err != nil {
		return Dims{}, err
	}
	if opt.Weights != nil {
		if err := tensor.CheckShape("attention: weights", opt.Weights, []int{B, H, T, S}, "B", "H", "T", "S"); err != nil {
			return Dims{}, err
		}
		if !opt.Weights.RowContiguous() {
			return Dims{}, fmt.Errorf("attention: weights have strides %v; the innermost stride must be 1", opt.Weights.Strides())
		}
	}
	if s := float64(opt.Scale); math.IsNaN(s) || math.IsInf(s, 0) {
		return Dims{}, fmt.Errorf("attention: scale is %v, want a finite number (0 = 1/sqrt(Dh))", opt.Scale)
	}
	if err := opt.Dropout.validate(); err != nil {
		return Dims{}, err
	}
	d := Dims{B: B, H: H, T: T, S: S}
	return d, validateMasks(opt.Masks, d)
}

// CheckFinite returns an error naming arg and the first index holding NaN
// or ±Inf, or nil when every element of t is finite.
func CheckFinite(arg string, t *tensor.Tensor) error {
	if idx, bad := t.FirstNonFinite(); bad {
		return fmt.Errorf("%s has %v at index %v; inputs must be finite", arg, t.At(idx...), idx)
	}
	return nil
}

// operand addresses the rows of a [B,H,T,X] tensor (or its float64 copy):
// row (b, h, t) starts at off + b·sb + h·sh + t·st and is contiguous.
type operand[F float32 | float64] struct {
	data       []F
	off        int
	sb, sh, st int
}

func operandOf(t *tensor.Tensor) operand[float32] {
	return operand[float32]{data: t.Data(), off: t.Offset(), sb: t.Stride(0), sh: t.Stride(1), st: t.Stride(2)}
}

func (o operand[F]) row(b, h, t, n int) []F {
	p := o.off + b*o.sb + h*o.sh + t*o.st
	return o.data[p : p+n : p+n]
}

// sdpaCore is the readable reference of scaled dot-product attention,
// written once for float32 (the reference path) and float64 (the twin the
// tests measure rounding error against). Sums run in index order.
//
// Shapes: q [B,H,T,Dh], k [B,Hkv,S,Dh], v [B,Hkv,S,Dv], out [B,H,T,Dv],
// w [B,H,T,S] (w.data nil when weights are not wanted).
func sdpaCore[F float32 | float64](d Dims, hkv, dh, dv int, scale F, q, k, v, out, w operand[F], masks []Mask, drop Dropout) {
	scores := make([]F, d.S)
	group := d.H / hkv
	for b := 0; b < d.B; b++ {
		for h := 0; h < d.H; h++ {
			kh := h / group
			for i := 0; i < d.T; i++ {
				qi := q.row(b, h, i, dh)
				for j := range scores {
					kj := k.row(b, kh, j, dh)
					var s F
					for c, x := range qi {
						s += x * kj[c]
					}
					scores[j] = s * scale
				}
				applyMasks(masks, d, b, h, i, scores)
				kernel.SoftmaxRef(scores)
				if drop.P > 0 {
					keep := F(1 / (1 - drop.P))
					for j := range scores {
						if drop.Rand.Float64() < drop.P {
							scores[j] = 0
						} else {
							scores[j] *= keep
						}
					}
				}
				if w.data != nil {
					copy(w.row(b, h, i, d.S), scores)
				}
				o := out.row(b, h, i, dv)
				clear(o)
				for j, p := range scores {
					if p == 0 {
						continue
					}
					for c, x := range v.row(b, kh, j, dv) {
						o[c] += p * x
					}
				}
			}
		}
	}
}
