package attention

// Shape legend for this file:
//   B  batch            H    query heads       Hkv  key/value heads (H % Hkv == 0)
//   T  queries per head S    keys per head     Dh   query/key head dim
//   Dv value head dim

import (
	"fmt"
	"math"

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
	// LSE, if not nil, receives the natural-log row log-sum-exp [B,H,T] of
	// the scaled, masked scores, log Σ_j exp(scale·q_i·k_j + bias_ij) over
	// the allowed keys (before dropout), -Inf for a fully masked row. It is
	// what ScaledDotProductBackward needs to recompute the weights. It must
	// be contiguous.
	LSE *tensor.Tensor
	// lseLo, if not nil (with LSE), receives the rounding residual of LSE
	// [B,H,T]: the float64 log-sum-exp minus LSE, as a float32. Weights
	// recomputed as exp(s − LSE) are off by up to half an ulp of |LSE|
	// (2.4e-7 at |LSE| ≈ 4), by the same factor along a row; that is the
	// largest float32 error of the backward, and exp(s − LSE − lseLo)
	// removes it. The multi-head module keeps it; the exported backward,
	// which takes LSE alone, does without.
	lseLo []float32
}

// splitLSE rounds a float64 log-sum-exp to float32 and returns the residual
// (exact in float32 to about 2^-48 relative).
func splitLSE(x float64) (hi, lo float32) {
	hi = float32(x)
	return hi, float32(x - float64(hi))
}

// Dropout zeroes each attention weight with probability P and scales the
// survivors by 1/(1-P). P = 0 (the default) is evaluation mode.
//
// The mask is counter-based: whether weight (b, h, i, j) of a call with
// dimensions [B,H,T,S] is kept is a pure function of Seed and the flat index
// n = ((b·H+h)·T+i)·S+j (see Kept). No random state is consumed and no mask
// is stored, so the fused and reference paths, the forward and the backward
// all drop the same weights. Use a fresh Seed per training step.
type Dropout struct {
	P    float64
	Seed uint64
}

func (d Dropout) validate() error {
	if d.P == 0 {
		return nil
	}
	if !(d.P > 0 && d.P < 1) {
		return fmt.Errorf("attention: dropout probability %v is outside [0, 1)", d.P)
	}
	return nil
}

// Kept reports whether the weight of query i, key j, batch b, head h
// survives dropout in a call of dimensions dm: the splitmix64 output number
// n+1 of the stream seeded with Seed (state Seed + (n+1)·0x9E3779B97F4A7C15,
// then the splitmix64 finaliser), n = ((b·H+h)·T+i)·S+j, is dropped when its
// top 53 bits, read as a fraction of 2^53, are below P.
func (d Dropout) Kept(dm Dims, b, h, i, j int) bool {
	if d.P == 0 {
		return true
	}
	n := uint64(((b*dm.H+h)*dm.T+i)*dm.S + j)
	return dropBits(d.Seed, n) >= d.threshold()
}

// threshold is P·2^53: a weight whose 53 hash bits are below it is dropped.
func (d Dropout) threshold() uint64 { return uint64(d.P * (1 << 53)) }

// dropBits returns the top 53 bits of splitmix64 output n+1 for seed.
func dropBits(seed, n uint64) uint64 {
	x := seed + (n+1)*0x9E3779B97F4A7C15
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
	x = (x ^ (x >> 27)) * 0x94D049BB133111EB
	return (x ^ (x >> 31)) >> 11
}

// dropRow applies dropout to the weights of one row whose first element has
// flat index n0: dropped weights become 0, kept ones are scaled by 1/(1-P).
func dropRow[F float32 | float64](d Dropout, row []F, n0 uint64) {
	thr := d.threshold()
	keep := F(1 / (1 - d.P))
	for j := range row {
		if dropBits(d.Seed, n0+uint64(j)) < thr {
			row[j] = 0
		} else {
			row[j] *= keep
		}
	}
}

// rowIndex is the flat index n of weight (b, h, i, j) used by dropout.
func rowIndex(d Dims, b, h, i, j int) uint64 { return uint64(((b*d.H+h)*d.T+i)*d.S + j) }

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
// are recomputed from the row maximum and sum), dropout included. The softmax subtracts each row's maximum, so any finite
// scores are safe. A query row whose keys are all disallowed gets zero
// weights and a zero output row (PyTorch 1.13 returns NaN there). A
// non-finite result is an error naming the input that holds NaN or ±Inf, or
// reporting an overflow; NaN in a key the masks exclude does not reach the
// result and is not an error.
func ScaledDotProduct(out, q, k, v *tensor.Tensor, opt Options) error {
	return sdpa(out, q, k, v, opt, true, true)
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
	var lse []float32
	if opt.LSE != nil {
		lse = flatOf(opt.LSE)
	}
	lseLo := opt.lseLo
	if lse == nil {
		lseLo = nil
	}
	if fused {
		flashForward(d, k.Dim(1), Dh, v.Dim(3), scale, operandOf(q), operandOf(k), operandOf(v), operandOf(out), w, opt.Masks, lse, lseLo, opt.Dropout)
	} else {
		sdpaCore(d, k.Dim(1), Dh, v.Dim(3), scale, operandOf(q), operandOf(k), operandOf(v), operandOf(out), w, lse, lseLo, opt.Masks, opt.Dropout)
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
	if finite(out) {
		return nil
	}
	idx, _ := out.FirstNonFinite()
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
	if opt.LSE != nil {
		if err := tensor.CheckShape("attention: lse", opt.LSE, []int{B, H, T}, "B", "H", "T"); err != nil {
			return Dims{}, err
		}
		if !opt.LSE.IsContiguous() {
			return Dims{}, fmt.Errorf("attention: lse has strides %v; it must be contiguous", opt.LSE.Strides())
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

// finite reports whether every element of t is finite. A t whose elements
// fill one run of storage (an output this package allocated, or heads
// viewed out of a whole [B,T,H·Dh] buffer) is checked by the vector
// kernel, where a scalar scan over a head view would cost 2.4 % of a
// demo-model training step.
func finite(t *tensor.Tensor) bool {
	if span, ok := t.Span(); ok {
		return kernel.AllFinite(span)
	}
	_, bad := t.FirstNonFinite()
	return !bad
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

// flatOf returns the elements of a contiguous tensor.
func flatOf(t *tensor.Tensor) []float32 {
	return t.Data()[t.Offset() : t.Offset()+t.Len()]
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
// w [B,H,T,S] (w.data nil when weights are not wanted), lse and its
// rounding residual lseLo [B,H,T] flat (nil when not wanted). The lse is
// computed in float64 from the scores, then rounded.
func sdpaCore[F float32 | float64](d Dims, hkv, dh, dv int, scale F, q, k, v, out, w operand[F], lse, lseLo []F, masks []Mask, drop Dropout) {
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
				if lse != nil {
					hi, lo := rowLSE(scores)
					lse[(b*d.H+h)*d.T+i] = hi
					if lseLo != nil {
						lseLo[(b*d.H+h)*d.T+i] = lo
					}
				}
				kernel.SoftmaxRef(scores)
				if drop.P > 0 {
					dropRow(drop, scores, rowIndex(d, b, h, i, 0))
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

// rowLSE returns log Σ_j exp(s_j), computed in float64 and rounded to F,
// and the rounding residual; -Inf and 0 when every s_j is -Inf.
func rowLSE[F float32 | float64](s []F) (hi, lo F) {
	m := math.Inf(-1)
	for _, x := range s {
		m = max(m, float64(x))
	}
	if math.IsInf(m, -1) {
		return F(m), 0
	}
	var sum float64
	for _, x := range s {
		sum += math.Exp(float64(x) - m)
	}
	full := m + math.Log(sum)
	hi = F(full)
	return hi, F(full - float64(hi))
}

// ScaledDotProductBackward adds into dq [B,H,T,Dh], dk [B,Hkv,S,Dh], dv
// [B,Hkv,S,Dv] the gradients of the loss given dout [B,H,T,Dv], from the
// forward's q, k, v, out and lse (opt identical to the forward's, masks and
// dropout included; opt.Weights and opt.LSE are ignored).
//
// It is FlashAttention-2's backward (docs/flash-backward.md): the weights
// are recomputed tile by tile as P = exp(scale·q·kᵀ + bias − lse), with
// D_i = dout_i·out_i,
//
//	dV += P'ᵀ·dO,  dP = (dO·Vᵀ)∘Z/(1−p),  dS = P∘(dP − D),
//	dK += scale·dSᵀ·Q,  dQ += scale·dS·K
//
// (P' the weights after dropout, Z the dropout keep mask), never holding a
// T×S matrix: beyond its tiles it uses O(B·H·T) memory. Under grouped-query
// attention a key/value head's gradient sums over every query head that
// reads it. Fully masked rows (lse = -Inf) contribute nothing: their dq rows
// get zero added. Additive masks are constants: no gradient flows to them.
//
// Gradients are added, so a caller accumulating over several calls zeroes
// them once. dq, dk and dv must not overlap each other or the inputs
// (distinct views of one buffer, e.g. the packed [B,T,3D] gradient of a
// fused projection, are fine).
func ScaledDotProductBackward(dq, dk, dv, dout, q, k, v, out, lse *tensor.Tensor, opt Options) error {
	return sdpaBackward(dq, dk, dv, dout, q, k, v, out, lse, nil, nil, opt, true)
}

// ScaledDotProductBackwardRef is the readable reference twin of
// ScaledDotProductBackward: one query row at a time, the full weight row
// recomputed from lse, D_i taken from its definition Σ_j P'_ij·dP'_ij (so
// out is checked for its shape but not read). Same contract.
func ScaledDotProductBackwardRef(dq, dk, dv, dout, q, k, v, out, lse *tensor.Tensor, opt Options) error {
	return sdpaBackward(dq, dk, dv, dout, q, k, v, out, lse, nil, nil, opt, false)
}

// sdpaBackward validates and runs one of the two backward paths. lseLo, if
// not nil, is the rounding residual of lse (Options.lseLo). dw, if not nil,
// is the gradient with respect to the returned weights [B,H,T,S] (after
// dropout); only the reference path takes it.
func sdpaBackward(dq, dk, dv, dout, q, k, v, out, lse *tensor.Tensor, lseLo []float32, dw *tensor.Tensor, opt Options, fused bool) error {
	opt.Weights, opt.LSE = nil, nil
	d, err := checkSDPA(out, q, k, v, opt)
	if err != nil {
		return err
	}
	B, H, T, S := d.B, d.H, d.T, d.S
	Hkv, Dh, Dv := k.Dim(1), q.Dim(3), v.Dim(3)
	if err := checkGrad("attention: query gradient", dq, []int{B, H, T, Dh}, "B", "H", "T", "Dh"); err != nil {
		return err
	}
	if err := checkGrad("attention: key gradient", dk, []int{B, Hkv, S, Dh}, "B", "Hkv", "S", "Dh"); err != nil {
		return err
	}
	if err := checkGrad("attention: value gradient", dv, []int{B, Hkv, S, Dv}, "B", "Hkv", "S", "Dv"); err != nil {
		return err
	}
	if err := checkGrad("attention: output gradient", dout, []int{B, H, T, Dv}, "B", "H", "T", "Dv"); err != nil {
		return err
	}
	if lse == nil {
		return fmt.Errorf("attention: lse is nil; get it from the forward with Options.LSE")
	}
	if err := tensor.CheckShape("attention: lse", lse, []int{B, H, T}, "B", "H", "T"); err != nil {
		return err
	}
	if !lse.IsContiguous() {
		return fmt.Errorf("attention: lse has strides %v; it must be contiguous", lse.Strides())
	}
	for i, x := range flatOf(lse) {
		if x != x || x > math.MaxFloat32 {
			return fmt.Errorf("attention: lse has %v at index %v; want finite values or -Inf (fully masked rows)", x, tensor.Unravel(i, lse.Shape()))
		}
	}
	if err := CheckFinite("attention: output gradient", dout); err != nil {
		return err
	}
	scale := opt.Scale
	if scale == 0 {
		scale = float32(1 / math.Sqrt(float64(Dh)))
	}
	if fused && dw == nil {
		flashBackward(d, Hkv, Dh, Dv, scale, operandOf(dq), operandOf(dk), operandOf(dv), operandOf(dout),
			operandOf(q), operandOf(k), operandOf(v), operandOf(out), flatOf(lse), lseLo, opt.Masks, opt.Dropout)
		return nil
	}
	var dwo operand[float32]
	if dw != nil {
		if err := tensor.CheckShape("attention: weights gradient", dw, []int{B, H, T, S}, "B", "H", "T", "S"); err != nil {
			return err
		}
		if !dw.RowContiguous() {
			return fmt.Errorf("attention: weights gradient has strides %v; the innermost stride must be 1", dw.Strides())
		}
		if err := CheckFinite("attention: weights gradient", dw); err != nil {
			return err
		}
		dwo = operandOf(dw)
	}
	sdpaBackwardCore(d, Hkv, Dh, Dv, scale, operandOf(dq), operandOf(dk), operandOf(dv), operandOf(dout),
		operandOf(q), operandOf(k), operandOf(v), dwo, flatOf(lse), lseLo, opt.Masks, opt.Dropout)
	return nil
}

// checkGrad checks a gradient argument (name prefixed with "attention: "):
// present, of the wanted shape, with
// unit innermost stride.
func checkGrad(name string, t *tensor.Tensor, shape []int, names ...string) error {
	if t == nil {
		return fmt.Errorf("%s is nil", name)
	}
	if err := tensor.CheckShape(name, t, shape, names...); err != nil {
		return err
	}
	if !t.RowContiguous() {
		return fmt.Errorf("%s has strides %v; the innermost stride must be 1", name, t.Strides())
	}
	return nil
}

// sdpaBackwardCore is the readable reference backward, for float32 (the
// reference path) and float64 (the twin the finite-difference tests check).
// Per query row i of head h (key/value head kh):
//
//	P_j   = exp(s_j − lse_i)                 the forward's weights (0 where masked)
//	P'_j  = P_j·z_j                          after dropout (z_j = 0 or 1/(1−p))
//	dv_j += P'_j·dO_i
//	dP'_j = dO_i·v_j + dW_ij                 gradient w.r.t. the returned weights
//	D     = Σ_j P'_j·dP'_j
//	dS_j  = P_j·(z_j·dP'_j − D)              softmax backward
//	dq_i += scale·Σ_j dS_j·k_j,   dk_j += scale·dS_j·q_i
//
// Keys with P_j = 0 are skipped, so a NaN in a key or value the masks
// exclude does not reach the gradients. A row with lse = -Inf (fully
// masked) is skipped: zero gradient. dw.data is nil when there is no
// gradient w.r.t. the weights; lseLo, when not nil, is the rounding
// residual of lse: P_j = exp(s_j − lse_i − lseLo_i).
func sdpaBackwardCore[F float32 | float64](d Dims, hkv, dh, dv int, scale F, dq, dk, dvv, dout, q, k, v, dw operand[F], lse, lseLo []F, masks []Mask, drop Dropout) {
	p := make([]F, d.S)  // weights before dropout
	z := make([]F, d.S)  // dropout factors z_j
	dp := make([]F, d.S) // z_j·dP'_j
	group := d.H / hkv
	for b := 0; b < d.B; b++ {
		for h := 0; h < d.H; h++ {
			kh := h / group
			for i := 0; i < d.T; i++ {
				l := lse[(b*d.H+h)*d.T+i]
				if math.IsInf(float64(l), -1) {
					continue
				}
				qi := q.row(b, h, i, dh)
				for j := range p {
					kj := k.row(b, kh, j, dh)
					var s F
					for c, x := range qi {
						s += x * kj[c]
					}
					p[j] = s * scale
				}
				applyMasks(masks, d, b, h, i, p)
				var lo float64
				if lseLo != nil {
					lo = float64(lseLo[(b*d.H+h)*d.T+i])
				}
				for j, s := range p {
					p[j] = F(math.Exp(float64(s-l) - lo))
					z[j] = 1
				}
				if drop.P > 0 {
					dropRow(drop, z, rowIndex(d, b, h, i, 0))
				}
				doi := dout.row(b, h, i, dv)
				var dwi []F
				if dw.data != nil {
					dwi = dw.row(b, h, i, d.S)
				}
				var D F
				for j, pj := range p {
					dp[j] = 0
					if pj == 0 || z[j] == 0 {
						continue
					}
					vj := v.row(b, kh, j, dv)
					var g F
					for c, x := range doi {
						g += x * vj[c]
					}
					if dwi != nil {
						g += dwi[j]
					}
					D += pj * z[j] * g
					dp[j] = z[j] * g
					dvj := dvv.row(b, kh, j, dv)
					for c, x := range doi {
						dvj[c] += pj * z[j] * x
					}
				}
				dqi := dq.row(b, h, i, dh)
				for j, pj := range p {
					if pj == 0 {
						continue
					}
					ds := scale * pj * (dp[j] - D)
					kj := k.row(b, kh, j, dh)
					dkj := dk.row(b, kh, j, dh)
					for c := range dqi {
						dqi[c] += ds * kj[c]
						dkj[c] += ds * qi[c]
					}
				}
			}
		}
	}
}
