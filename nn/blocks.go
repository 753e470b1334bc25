package nn

// The training blocks the models of this package are built from (the
// encoder-decoder Transformer, its Encoder, and GPT): a residual sublayer
// around a LayerNorm, multi-head attention and the feed-forward network,
// each saving in its state what its backward reads; the run that carries a
// pass's dropout settings and scratch; and the output projection with its
// loss, the last step every model shares.
//
// Shape legend for this file:
//
//	B  batch         Tq query length    Tk key length (Tq for self-attention)
//	D  d_model       H  heads, Dh = D/H F  feed-forward width
//	V  vocabulary    N  rows of a [rows, ·] activation (B·Tq, or B·Tk)

import (
	"fmt"
	"math"

	"github.com/attn-go/attn/attention"
	"github.com/attn-go/attn/tensor"
)

// TrainOptions select what Loss does besides the forward pass.
type TrainOptions struct {
	Backward  bool    // add gradients into the parameters' G
	Dropout   bool    // apply the configured dropout (training)
	Seed      uint64  // dropout masks (one value per step)
	Smoothing float32 // label smoothing ε
}

// LossStats is the summed loss over counted label positions, their
// number, and how many had the argmax right.
type LossStats struct {
	Sum            float64
	Count, Correct int
}

// run carries one forward pass's settings and dropout bookkeeping: every
// dropout site takes its own counter range, so the backward pass
// regenerates the same masks from (seed, offset) without storing them.
type run struct {
	train bool
	p     float32
	seed  uint64
	site  uint64
	sc    *scratch // the pass's buffers (nil: make; see scratch)
}

func (r *run) nextSite() uint64 {
	r.site++
	return r.site << 36
}

// active reports whether this pass drops anything.
func (r *run) active() bool { return r.train && r.p > 0 }

func (r *run) dropout(y, x []float32, off uint64) {
	if r.active() {
		DropoutForward(y, x, r.p, r.seed, off)
		return
	}
	copy(y, x)
}

func (r *run) dropoutBack(dx, dy []float32, off uint64) {
	if r.active() {
		DropoutBackward(dx, dy, r.p, r.seed, off)
		return
	}
	for i, v := range dy {
		dx[i] += v
	}
}

// layerNorm is a LayerNorm's parameters.
type layerNorm struct{ w, b *Param }

// normState is what a bare LayerNorm saves: its input and row statistics
// (the final norms of pre-LN stacks: the Transformer's encoder and decoder
// norms, GPT's ln_f).
type normState struct {
	x, mean, rstd []float32
}

// sublayer is one residual block around f: post-LN y = LN(x + drop(f(x)))
// (the paper) or pre-LN y = x + drop(f(LN(x))). It saves what its backward
// needs.
type sublayer struct {
	norm       layerNorm
	pre        bool
	d          int
	eps        float32
	x, in, r   []float32 // input; f's input; post-LN's pre-norm sum
	mean, rstd []float32
	off        uint64
}

func (s *sublayer) forward(rn *run, x []float32, n int, f func(in []float32) []float32) []float32 {
	d := s.d
	s.x, s.off = x, rn.nextSite()
	s.mean, s.rstd = rn.sc.floats(n), rn.sc.floats(n)
	s.in = x
	if s.pre {
		s.in = rn.sc.floats(n * d)
		LayerNormForward(s.in, s.mean, s.rstd, x, s.norm.w.W, s.norm.b.W, n, d, s.eps)
	}
	// f returns a fresh buffer nobody keeps: drop out and add the residual
	// in place.
	y := f(s.in)
	if rn.active() {
		DropoutForward(y, y, rn.p, rn.seed, s.off)
	}
	for i, v := range x {
		y[i] += v
	}
	if s.pre {
		return y
	}
	s.r = y
	out := rn.sc.floats(n * d)
	LayerNormForward(out, s.mean, s.rstd, y, s.norm.w.W, s.norm.b.W, n, d, s.eps)
	return out
}

// backward returns dx for dy; fb maps the gradient of f's output to that
// of f's input (adding parameter gradients on the way; it only reads its
// argument and returns a fresh buffer). dy's storage is reused for dx: the
// caller passes a gradient it no longer needs.
func (s *sublayer) backward(rn *run, dy []float32, n int, fb func(dout []float32) []float32) []float32 {
	d := s.d
	dsum := dy // the gradient of the residual sum
	if !s.pre {
		dsum = rn.sc.floats(n * d)
		LayerNormBackward(dsum, s.norm.w.G, s.norm.b.G, dy, s.r, s.norm.w.W, s.mean, s.rstd, n, d)
	}
	dfout := dsum
	if rn.active() {
		dfout = rn.sc.floats(n * d)
		rn.dropoutBack(dfout, dsum, s.off)
	}
	din := fb(dfout)
	// dx = dsum (the residual path) + f's input gradient, taken through
	// the norm for pre-LN; dsum is no longer read, so it holds dx.
	if s.pre {
		LayerNormBackward(dsum, s.norm.w.G, s.norm.b.G, din, s.x, s.norm.w.W, s.mean, s.rstd, n, d)
	} else {
		for i, v := range din {
			dsum[i] += v
		}
	}
	return dsum
}

// attnBlock is one multi-head attention sublayer with PyTorch's packed
// in_proj_weight [3D, D] (rows: W_Q, W_K, W_V) and out_proj [D, D].
type attnBlock struct {
	inW, inB, outW, outB *Param
}

// attnState is one attention sublayer's saved forward: projections in
// PyTorch's packed order, the context and the row log-sum-exp.
type attnState struct {
	blk          *attnBlock
	self         bool
	b, tq, tk, d int
	h            int
	xq, xkv      []float32 // inputs [B·Tq, D], [B·Tk, D]
	q, kv        []float32 // self: q holds [B·T, 3D] (q|k|v); cross: q [B·Tq, D], kv [B·Tk, 2D]
	ctx, lse     []float32
	masks        []attention.Mask
	weights      *tensor.Tensor
	sc           *scratch
}

func (a *attnState) views(q, kv, ctx []float32) (qv, kvv, vv, cv *tensor.Tensor) {
	B, Tq, Tk, D, H := a.b, a.tq, a.tk, a.d, a.h
	Dh := D / H
	if a.self {
		qv = tensor.Must(tensor.View(q, 0, []int{B, H, Tq, Dh}, []int{Tq * 3 * D, Dh, 3 * D, 1}))
		kvv = tensor.Must(tensor.View(q, D, []int{B, H, Tk, Dh}, []int{Tk * 3 * D, Dh, 3 * D, 1}))
		vv = tensor.Must(tensor.View(q, 2*D, []int{B, H, Tk, Dh}, []int{Tk * 3 * D, Dh, 3 * D, 1}))
	} else {
		qv = tensor.Must(tensor.View(q, 0, []int{B, H, Tq, Dh}, []int{Tq * D, Dh, D, 1}))
		kvv = tensor.Must(tensor.View(kv, 0, []int{B, H, Tk, Dh}, []int{Tk * 2 * D, Dh, 2 * D, 1}))
		vv = tensor.Must(tensor.View(kv, D, []int{B, H, Tk, Dh}, []int{Tk * 2 * D, Dh, 2 * D, 1}))
	}
	cv = tensor.Must(tensor.View(ctx, 0, []int{B, H, Tq, Dh}, []int{Tq * D, Dh, D, 1}))
	return
}

func (a *attnState) forward(in []float32) []float32 {
	B, Tq, Tk, D := a.b, a.tq, a.tk, a.d
	nq, nk := B*Tq, B*Tk
	blk := a.blk
	a.xq = in
	if a.self {
		a.xkv = in
		a.q = a.sc.floats(nq * 3 * D)
		LinearForward(a.q, in, blk.inW.W, blk.inB.W, nq, D, 3*D)
	} else {
		a.q = a.sc.floats(nq * D)
		a.kv = a.sc.floats(nk * 2 * D)
		LinearForward(a.q, in, blk.inW.W[:D*D], blk.inB.W[:D], nq, D, D)
		LinearForward(a.kv, a.xkv, blk.inW.W[D*D:], blk.inB.W[D:], nk, D, 2*D)
	}
	a.ctx = a.sc.floats(nq * D)
	a.lse = a.sc.floats(B * a.h * Tq)
	qv, kv, vv, cv := a.views(a.q, a.kv, a.ctx)
	opt := attention.Options{Masks: a.masks, LSE: tensor.Must(tensor.FromSlice(a.lse, B, a.h, Tq)), Weights: a.weights}
	if err := attention.ScaledDotProduct(cv, qv, kv, vv, opt); err != nil {
		// Shapes are built here, so this is a non-finite value (diverged
		// weights); the exported method that started the pass turns it
		// back into its error (catchNumeric).
		panic(numericError{err})
	}
	out := a.sc.floats(nq * D)
	LinearForward(out, a.ctx, blk.outW.W, blk.outB.W, nq, D, D)
	return out
}

// backward adds parameter gradients and returns dxq; for cross-attention
// the gradient of the memory is added into dmem.
func (a *attnState) backward(dout, dmem []float32) []float32 {
	B, Tq, Tk, D := a.b, a.tq, a.tk, a.d
	nq, nk := B*Tq, B*Tk
	blk := a.blk
	dctx := a.sc.floats(nq * D)
	LinearBackward(dctx, blk.outW.G, blk.outB.G, dout, a.ctx, blk.outW.W, nq, D, D)
	var dq, dkv []float32
	if a.self {
		dq = a.sc.floats(nq * 3 * D)
	} else {
		dq, dkv = a.sc.floats(nq*D), a.sc.floats(nk*2*D)
	}
	qv, kv, vv, cv := a.views(a.q, a.kv, a.ctx)
	dqv, dkvv, dvv, dcv := a.views(dq, dkv, dctx)
	opt := attention.Options{Masks: a.masks}
	lse := tensor.Must(tensor.FromSlice(a.lse, B, a.h, Tq))
	if err := attention.ScaledDotProductBackward(dqv, dkvv, dvv, dcv, qv, kv, vv, cv, lse, opt); err != nil {
		panic(numericError{err})
	}
	dx := a.sc.floats(nq * D)
	if a.self {
		LinearBackward(dx, blk.inW.G, blk.inB.G, dq, a.xq, blk.inW.W, nq, D, 3*D)
		return dx
	}
	LinearBackward(dx, blk.inW.G[:D*D], blk.inB.G[:D], dq, a.xq, blk.inW.W[:D*D], nq, D, D)
	LinearBackward(dmem, blk.inW.G[D*D:], blk.inB.G[D:], dkv, a.xkv, blk.inW.W[D*D:], nk, D, 2*D)
	return dx
}

// ffn is the position-wise feed-forward's parameters: linear1 [F, D] and
// linear2 [D, F] (GPT-2's c_fc and c_proj), with ReLU or GELU between
// them (ffnState.gelu).
type ffn struct{ w1, b1, w2, b2 *Param }

// ffnState is linear1 → ReLU (or tanh GELU) → linear2 with its saved
// activations.
type ffnState struct {
	f           *ffn
	n, d, ff    int
	gelu        bool // tanh GELU (GPT-2) instead of ReLU (the paper)
	in, hpre, h []float32
	sc          *scratch
}

func (s *ffnState) forward(in []float32) []float32 {
	s.in = in
	s.hpre = s.sc.floats(s.n * s.ff)
	LinearForward(s.hpre, in, s.f.w1.W, s.f.b1.W, s.n, s.d, s.ff)
	if s.gelu {
		s.h = s.sc.clone(s.hpre) // GELU's backward needs the input
		GELU(s.h, GELUTanh)
	} else {
		// ReLU's backward needs only the sign, and relu(x) > 0 exactly
		// when x > 0: keep the output alone.
		ReLU(s.hpre)
		s.h = s.hpre
	}
	out := s.sc.floats(s.n * s.d)
	LinearForward(out, s.h, s.f.w2.W, s.f.b2.W, s.n, s.ff, s.d)
	return out
}

func (s *ffnState) backward(dout []float32) []float32 {
	dh := s.sc.floats(s.n * s.ff)
	LinearBackward(dh, s.f.w2.G, s.f.b2.G, dout, s.h, s.f.w2.W, s.n, s.ff, s.d)
	dhpre := s.sc.floats(s.n * s.ff)
	if s.gelu {
		GELUBackward(dhpre, dh, s.hpre, GELUTanh)
	} else {
		ReLUBackward(dhpre, dh, s.h)
	}
	din := s.sc.floats(s.n * s.d)
	LinearBackward(din, s.f.w1.G, s.f.b1.G, dhpre, s.in, s.f.w1.W, s.n, s.d, s.ff)
	return din
}

// numericError carries an attention error (a non-finite value: the model
// diverged) out of a pass to the exported method that returns it.
type numericError struct{ err error }

// catchNumeric turns a numericError panic into *err; other panics go on.
func catchNumeric(err *error) {
	if r := recover(); r != nil {
		ne, ok := r.(numericError)
		if !ok {
			panic(r)
		}
		*err = fmt.Errorf("nn: transformer: %w (diverged: lower the learning rate)", ne.err)
	}
}

// argmax returns the index of the largest value (the first on ties).
func argmax(row []float32) int {
	best := 0
	for j, v := range row {
		if v > row[best] {
			best = j
		}
	}
	return best
}

// outputLoss is the last step every model shares: logits = h·outᵀ for the
// rows of h [N, D] (out is [V, D]), their argmax accuracy and the
// label-smoothed cross-entropy over labels other than ignore. With
// opt.Backward it adds out's gradient and returns dh, the gradient of the
// mean loss with respect to h; otherwise dh is nil.
func outputLoss(sc *scratch, out *Param, h []float32, labels []int, ignore, D, V int, opt TrainOptions) (st LossStats, dh []float32, err error) {
	n := len(labels)
	logits := sc.floats(n * V)
	LinearForward(logits, h, out.W, nil, n, D, V)
	count := 0
	for i, l := range labels {
		if l == ignore {
			continue
		}
		count++
		if argmax(logits[i*V:(i+1)*V]) == l {
			st.Correct++
		}
	}
	var dlogits []float32 // nil: loss only
	if opt.Backward {
		dlogits = logits // CrossEntropy writes the gradient in place
	}
	st.Sum, st.Count = CrossEntropy(dlogits, logits, labels, n, V, opt.Smoothing, ignore, float32(max(count, 1)))
	if math.IsNaN(st.Sum) || math.IsInf(st.Sum, 0) {
		return st, nil, fmt.Errorf("nn: loss is %v (diverged: lower the learning rate)", st.Sum)
	}
	if !opt.Backward {
		return st, nil, nil
	}
	dh = sc.floats(n * D)
	LinearBackward(dh, out.G, nil, dlogits, h, out.W, n, D, V)
	return st, dh, nil
}
