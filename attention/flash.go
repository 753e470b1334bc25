package attention

// Fused, tiled attention forward (FlashAttention-2 style).
//
// Shape legend: B batch, H query heads, Hkv key/value heads, T queries,
// S keys, Dh query/key head dim, Dv value head dim; Br = tileQ query rows and
// Bc = tileK keys per tile.
//
// For each (b, h, query tile) the key range the masks leave open is walked
// in key tiles: scores S = scale·Q·Kᵀ for the tile (one small GEMM), masks
// applied only where a tile crosses a mask edge, then an online softmax keeps
// a running row maximum m and sum l, rescaling the output accumulator O when
// m grows, and O += P·V (a second small GEMM). At the end O /= l and the row
// statistics are kept (m and l, and the log-sum-exp m + log(l) on request).
// No T×S buffer exists; the attention weights, when asked for, are
// recomputed tile by tile as exp(score − m)/l in a second pass, so the output
// does not depend on whether weights were requested.
//
// When B·H·(query tiles) is too small to keep every worker busy (decoding:
// a few query rows against a long cache), the key range is split across
// workers and the partial (m, l, O) results are merged by log-sum-exp.

import (
	"math"

	"github.com/attn-go/attn/internal/parallel"
	"github.com/attn-go/attn/kernel"
)

const (
	tileQ = 64  // Br: query rows per task
	tileK = 256 // Bc: keys per inner tile (64 and 128 measured 25% and 12% slower)
)

// flashPlan holds one fused call's operands; it is the parallel.Task whose
// items are (b·H + h, query tile, key split) triples.
type flashPlan struct {
	d       Dims
	hkv     int
	dh, dv  int
	scale   float32
	q, k, v operand[float32]
	out     operand[float32]
	masks   []Mask
	lse     []float32 // [B,H,T] row log-sum-exp, when asked for
	// row max and sum [B,H,T], kept when weights are wanted: exp(s−m)/l
	// is as accurate as the reference, while exp(s−lse) loses the digits
	// of log(l) that do not fit beside a large m in one float32.
	rowM, rowL []float32
	nq, splits int
	// key-split partial results, [task][tileQ·Dv] and [task][tileQ], and
	// the merge's scratch
	partO, partM, partL []float32
	mergeO, mergeM      []float32
	mergeL              []float32
	// second pass: weights [B,H,T,S]
	weights     operand[float32]
	weightsPass bool
}

// flashWork is one worker's scratch, reused across calls.
type flashWork struct {
	s      []float32 // [tileQ, tileK] scores, then probabilities
	o      []float32 // [tileQ, Dv] output accumulator
	m, l   []float32 // [tileQ] running max and sum
	lo, hi []int     // [tileQ] open key range per row
	bad    []bool    // [tileQ] row saw a NaN or +Inf score
	rows   []maskRow // [tileQ·len(masks)] per-element masks per row
	elem   bool      // some mask has per-element values
}

var (
	planPool = parallel.NewCache(func() *flashPlan { return new(flashPlan) })
	workPool = parallel.NewCache(func() *flashWork { return new(flashWork) })
)

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// flashForward runs the fused kernel. lse, if not nil, receives the row
// log-sum-exp [B,H,T] (-Inf for fully masked rows). w, if its data is not
// nil, receives the weights [B,H,T,S].
func flashForward(d Dims, hkv, dh, dv int, scale float32, q, k, v, out, w operand[float32], masks []Mask, lse []float32) {
	p := planPool.Get()
	defer func() {
		p.masks, p.q.data, p.k.data, p.v.data, p.out.data, p.weights.data = nil, nil, nil, nil, nil, nil
		planPool.Put(p)
	}()
	p.d, p.hkv, p.dh, p.dv, p.scale = d, hkv, dh, dv, scale
	p.q, p.k, p.v, p.out, p.masks = q, k, v, out, masks
	p.nq = (d.T + tileQ - 1) / tileQ
	p.lse = lse
	p.rowM, p.rowL = p.rowM[:0], p.rowL[:0]
	if w.data != nil {
		p.rowM = grow(p.rowM, d.B*d.H*d.T)
		p.rowL = grow(p.rowL, d.B*d.H*d.T)
	}
	base := d.B * d.H * p.nq
	p.splits = p.planSplits(d)
	if p.splits > 1 {
		n := base * p.splits
		p.partO = grow(p.partO, n*tileQ*dv)
		p.partM = grow(p.partM, n*tileQ)
		p.partL = grow(p.partL, n*tileQ)
	}
	p.weightsPass = false
	parallel.Run(base*p.splits, p)
	if p.splits > 1 {
		p.merge()
	}
	if w.data != nil {
		p.weights, p.weightsPass = w, true
		parallel.Run(base, p)
	}
	p.lse = nil
}

// planSplits returns into how many chunks each task's key range is split:
// 1 unless there are fewer than two tasks per worker and enough keys for
// each chunk to hold at least two key tiles.
func (p *flashPlan) planSplits(d Dims) int {
	base := d.B * d.H * ((d.T + tileQ - 1) / tileQ)
	workers := parallel.Workers()
	if base >= 2*workers || d.S < 4*tileK {
		return 1
	}
	return min((2*workers+base-1)/base, d.S/(2*tileK))
}

// Run processes one task: (bh, query tile, split) in the forward pass, or
// (bh, query tile) in the weights pass.
func (p *flashPlan) Run(task int) {
	split := 0
	if !p.weightsPass {
		split = task % p.splits
		task /= p.splits
	}
	// Causal work grows with the query tile; hand out the heavy ones first.
	qt := p.nq - 1 - task%p.nq
	bh := task / p.nq
	b, h := bh/p.d.H, bh%p.d.H
	kh := h / (p.d.H / p.hkv)
	i0 := qt * tileQ
	br := min(tileQ, p.d.T-i0)

	w := workPool.Get()
	defer workPool.Put(w)
	jStart, jEnd := w.prepare(p, b, h, i0, br)
	if p.weightsPass {
		p.weightsTile(w, b, h, kh, i0, br, jStart, jEnd)
		return
	}
	if p.splits > 1 {
		// Split the open key range into tile-aligned chunks.
		n := (jEnd - jStart + tileK - 1) / tileK
		per := (n + p.splits - 1) / p.splits
		jStart, jEnd = min(jStart+split*per*tileK, jEnd), min(jStart+(split+1)*per*tileK, jEnd)
	}
	dv := p.dv
	o := w.o[:br*dv]
	clear(o)
	for r := 0; r < br; r++ {
		w.m[r] = float32(math.Inf(-1))
		w.l[r] = 0
	}
	qoff := p.q.off + b*p.q.sb + h*p.q.sh + i0*p.q.st
	for j0 := jStart; j0 < jEnd; j0 += tileK {
		bc := min(tileK, jEnd-j0)
		p.scoreTile(w, b, kh, qoff, br, j0, bc)
		w.maskTile(br, j0, bc)
		// Online softmax: fold this tile into the running max and sum.
		for r := 0; r < br; r++ {
			row := w.s[r*tileK : r*tileK+bc]
			mx := kernel.MaxOf(row) // NaN if any score is NaN
			if mx != mx || mx > math.MaxFloat32 {
				// A NaN or +Inf score (from NaN/Inf in q or k, or an
				// overflow) poisons the row, so the caller's output check
				// reports it; the polynomial exp would hide it.
				w.bad[r] = true
				clear(row)
				continue
			}
			if math.IsInf(float64(mx), -1) {
				clear(row)
				continue
			}
			mNew := max(w.m[r], mx)
			sum := kernel.ExpShift(row, mNew)
			if corr := float32(math.Exp(float64(w.m[r] - mNew))); corr != 1 {
				kernel.ScaleInPlace(corr, o[r*dv:(r+1)*dv])
				w.l[r] *= corr
			}
			w.l[r] += sum
			w.m[r] = mNew
		}
		voff := p.v.off + b*p.v.sb + kh*p.v.sh + j0*p.v.st
		kernel.GemmSerial(false, false, br, dv, bc, 1, w.s, tileK, p.v.data[voff:], p.v.st, 1, o, dv)
	}
	for r := 0; r < br; r++ {
		if w.bad[r] {
			w.l[r] = float32(math.NaN())
		}
	}
	if p.splits > 1 {
		t := task*p.splits + split
		copy(p.partO[t*tileQ*dv:], o)
		copy(p.partM[t*tileQ:], w.m[:br])
		copy(p.partL[t*tileQ:], w.l[:br])
		return
	}
	p.finish(b, h, i0, br, o, w.m, w.l)
}

// scoreTile computes w.s[:br, :bc] = scale · Q[i0:i0+br] · K[j0:j0+bc]ᵀ.
func (p *flashPlan) scoreTile(w *flashWork, b, kh, qoff, br, j0, bc int) {
	koff := p.k.off + b*p.k.sb + kh*p.k.sh + j0*p.k.st
	kernel.GemmSerial(false, true, br, bc, p.dh, p.scale, p.q.data[qoff:], p.q.st, p.k.data[koff:], p.k.st, 0, w.s, tileK)
}

// finish normalises the accumulator rows, writes them to the output and
// records the row log-sum-exp. A row with l = 0 saw no allowed key: its
// output is zero and its lse -Inf.
func (p *flashPlan) finish(b, h, i0, br int, o, m, l []float32) {
	dv := p.dv
	for r := 0; r < br; r++ {
		dst := p.out.row(b, h, i0+r, dv)
		lse := float32(math.Inf(-1))
		if l[r] != l[r] { // poisoned: NaN out, for the caller's check to explain
			for c := range dst {
				dst[c] = l[r]
			}
			lse = l[r]
		} else if l[r] > 0 {
			inv := l[r]
			for c, x := range o[r*dv : (r+1)*dv] {
				dst[c] = x / inv
			}
			lse = m[r] + float32(math.Log(float64(l[r])))
		} else {
			clear(dst)
		}
		at := (b*p.d.H+h)*p.d.T + i0 + r
		if p.lse != nil {
			p.lse[at] = lse
		}
		if len(p.rowM) > 0 {
			p.rowM[at], p.rowL[at] = m[r], l[r]
		}
	}
}

// merge combines the key-split partial results of every query tile:
// M = max m_s, L = Σ l_s·e^(m_s−M), O = Σ O_s·e^(m_s−M) / L.
func (p *flashPlan) merge() {
	dv := p.dv
	p.mergeO = grow(p.mergeO, tileQ*dv)
	p.mergeM = grow(p.mergeM, tileQ)
	p.mergeL = grow(p.mergeL, tileQ)
	o, m, l := p.mergeO, p.mergeM, p.mergeL
	for task := 0; task < p.d.B*p.d.H*p.nq; task++ {
		qt := p.nq - 1 - task%p.nq
		bh := task / p.nq
		b, h := bh/p.d.H, bh%p.d.H
		i0 := qt * tileQ
		br := min(tileQ, p.d.T-i0)
		clear(o)
		for r := 0; r < br; r++ {
			M := float32(math.Inf(-1))
			for s := 0; s < p.splits; s++ {
				t := task*p.splits + s
				if ls := p.partL[t*tileQ+r]; ls > 0 {
					M = max(M, p.partM[t*tileQ+r])
				} else if ls != ls {
					M = ls // poisoned
				}
			}
			var L float32
			dst := o[r*dv : (r+1)*dv]
			if M != M {
				L = M
			} else if !math.IsInf(float64(M), -1) {
				for s := 0; s < p.splits; s++ {
					t := task*p.splits + s
					ls := p.partL[t*tileQ+r]
					if ls == 0 {
						continue
					}
					f := float32(math.Exp(float64(p.partM[t*tileQ+r] - M)))
					L += ls * f
					kernel.Axpy(f, p.partO[t*tileQ*dv+r*dv:t*tileQ*dv+(r+1)*dv], dst)
				}
			}
			m[r], l[r] = M, L
		}
		p.finish(b, h, i0, br, o, m, l)
	}
}

// weightsTile writes the weights of one query tile, exp(score − m)/l,
// recomputing the scores tile by tile over the open key range [jStart,
// jEnd); keys outside it get zero without computing their scores.
func (p *flashPlan) weightsTile(w *flashWork, b, h, kh, i0, br, jStart, jEnd int) {
	for r := 0; r < br; r++ {
		row := p.weights.row(b, h, i0+r, p.d.S)
		clear(row[:jStart])
		clear(row[jEnd:])
	}
	qoff := p.q.off + b*p.q.sb + h*p.q.sh + i0*p.q.st
	for j0 := jStart; j0 < jEnd; j0 += tileK {
		bc := min(tileK, jEnd-j0)
		p.scoreTile(w, b, kh, qoff, br, j0, bc)
		w.maskTile(br, j0, bc)
		for r := 0; r < br; r++ {
			row := w.s[r*tileK : r*tileK+bc]
			at := (b*p.d.H+h)*p.d.T + i0 + r
			if l := p.rowL[at]; l > 0 {
				kernel.ExpShift(row, p.rowM[at])
				for j := range row {
					row[j] /= l
				}
			} else {
				clear(row)
			}
			copy(p.weights.row(b, h, i0+r, p.d.S)[j0:j0+bc], row)
		}
	}
}

// prepare sizes the scratch for this call and gathers, for each of the br
// rows starting at query i0, the open key range and the per-element mask
// rows. It returns the union of the open ranges.
func (w *flashWork) prepare(p *flashPlan, b, h, i0, br int) (jStart, jEnd int) {
	nm := len(p.masks)
	w.s = grow(w.s, tileQ*tileK)
	w.o = grow(w.o, tileQ*p.dv)
	w.m = grow(w.m, tileQ)
	w.l = grow(w.l, tileQ)
	w.lo = grow(w.lo, tileQ)
	w.hi = grow(w.hi, tileQ)
	w.bad = grow(w.bad, tileQ)
	clear(w.bad)
	w.rows = grow(w.rows, tileQ*nm)
	w.elem = false
	jStart, jEnd = p.d.S, 0
	for r := 0; r < br; r++ {
		lo, hi := 0, p.d.S
		for k, m := range p.masks {
			mr := m.row(p.d, b, h, i0+r)
			w.rows[r*nm+k] = mr
			lo, hi = max(lo, mr.lo), min(hi, mr.hi)
			w.elem = w.elem || mr.allowed != nil || mr.bias != nil
		}
		if hi < lo {
			hi = lo
		}
		w.lo[r], w.hi[r] = lo, hi
		if lo < hi {
			jStart, jEnd = min(jStart, lo), max(jEnd, hi)
		}
	}
	if jEnd <= jStart {
		return 0, 0
	}
	return jStart, jEnd
}

// maskTile applies the masks to the scores of key tile [j0, j0+bc): keys
// outside a row's open range become -Inf, per-element masks are applied.
// Tiles entirely inside every row's range with no per-element mask are
// left alone.
func (w *flashWork) maskTile(br, j0, bc int) {
	j1 := j0 + bc
	negInf := float32(math.Inf(-1))
	nm := len(w.rows) / tileQ
	for r := 0; r < br; r++ {
		lo, hi := w.lo[r], w.hi[r]
		if !w.elem && lo <= j0 && j1 <= hi {
			continue
		}
		row := w.s[r*tileK : r*tileK+bc]
		for j := j0; j < min(lo, j1); j++ {
			row[j-j0] = negInf
		}
		for j := max(hi, j0); j < j1; j++ {
			row[j-j0] = negInf
		}
		if !w.elem {
			continue
		}
		for _, mr := range w.rows[r*nm : (r+1)*nm] {
			if mr.allowed != nil {
				for j, ok := range mr.allowed[j0:j1] {
					if !ok {
						row[j] = negInf
					}
				}
			}
			if mr.bias != nil {
				for j, v := range mr.bias[j0:j1] {
					row[j] += v
				}
			}
		}
	}
}
