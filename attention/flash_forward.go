package attention

// Fused, tiled attention forward (FlashAttention-2 style). See
// docs/flash-forward.md.
//
// Shape legend: B batch, H query heads, Hkv key/value heads, T queries,
// S keys, Dh query/key head dim, Dv value head dim; Br = tileQ query rows and
// Bc = tileK keys per tile; MR×NR the micro-kernel's tile (kernel.Tiles).
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
//
// With grouped-query attention and fewer queries than a tile (decoding), the
// query heads that share a key/value head are stacked into one tile: its
// rows u = (h − h0)·T + t run over the group's heads, so each key and value
// is read once for the whole group instead of once per query head.

import (
	"math"

	"github.com/attn-go/attn/internal/parallel"
	"github.com/attn-go/attn/kernel"
)

const (
	tileQ = 64  // Br: about this many query rows per task (rounded up to whole micro-tiles, see flashPlan.tq)
	tileK = 256 // Bc: keys per inner tile (64 and 128 measured 25% and 12% slower)
)

// flashPlan holds one fused call's operands; it is the parallel.SlotTask
// whose items are (batch and stack of query heads, query tile, key split)
// triples (see task; a stack is one query head unless GQA heads are
// stacked).
type flashPlan struct {
	d       Dims
	hkv     int
	dh, dv  int
	scale   float32
	q, k, v operand[float32]
	out     operand[float32]
	masks   []Mask
	drop    Dropout
	lse     []float32 // [B,H,T] row log-sum-exp, when asked for
	lseLo   []float32 // [B,H,T] its float32 rounding residual, when asked for
	// row max and sum [B,H,T], kept when weights are wanted: exp(s−m)/l
	// is as accurate as the reference, while exp(s−lse) loses the digits
	// of log(l) that do not fit beside a large m in one float32.
	rowM, rowL []float32
	tq         int // query rows per task: tileQ rounded up to whole micro-tiles
	nq, splits int
	// Query rows per task run over vh query heads (1, or the GQA group
	// when its heads are stacked): vt = vh·T rows per stack, row u being
	// query u%T of head h0 + u/T; qRow is the stride between them in q,
	// 0 when they are not evenly spaced (a task then copies them).
	vh, vt, qRow int
	// key-split partial results, [task][tq·Dv] and [task][tq], and
	// the merge's scratch
	partO, partM, partL []float32
	mergeO, mergeM      []float32
	mergeL              []float32
	// second pass: weights [B,H,T,S]
	weights     operand[float32]
	weightsPass bool
	// packed path: scores through the bare micro-kernel on keys packed
	// once per (b, kv head) and slot, see packedKeys
	tiles  kernel.Tiles
	packed bool
	slots  []flashSlot
}

// flashSlot is one goroutine's packed keys: Kᵀ of kv head kh of batch b,
// keys [lo, hi), in the micro-kernel's panels (kernel.Tiles.PackTrans).
type flashSlot struct {
	kp            []float32
	b, kh, lo, hi int
	valid         bool
}

var planPool = parallel.NewCache(func() *flashPlan { return new(flashPlan) })

// flashForward runs the fused kernel. lse, if not nil, receives the row
// log-sum-exp [B,H,T] (-Inf for fully masked rows), and lseLo, if not nil,
// its rounding residual (see Options.lseLo). w, if its data is not
// nil, receives the weights [B,H,T,S]. Dropout, when on, is applied to each
// probability tile after its row sums are taken (the softmax normaliser
// counts every weight) and before P·V.
func flashForward(d Dims, hkv, dh, dv int, scale float32, q, k, v, out, w operand[float32], masks []Mask, lse, lseLo []float32, drop Dropout) {
	p := planPool.Get()
	defer func() {
		p.masks, p.q.data, p.k.data, p.v.data, p.out.data, p.weights.data = nil, nil, nil, nil, nil, nil
		planPool.Put(p)
	}()
	p.d, p.hkv, p.dh, p.dv, p.scale = d, hkv, dh, dv, scale
	p.q, p.k, p.v, p.out, p.masks, p.drop = q, k, v, out, masks, drop
	p.tiles = kernel.CurrentTiles()
	mr := p.tiles.MR()
	p.tq = roundUp(tileQ, mr)
	p.vh, p.qRow = 1, q.st
	if group := d.H / hkv; group > 1 && d.T < p.tq {
		// Stack the group's heads. Their rows are evenly spaced when
		// there is one per head or each head's rows are contiguous;
		// otherwise (a few queries of a [B,T,H,Dh] buffer) tasks copy
		// them. Whatever the layout, the arithmetic is the same.
		p.vh = group
		switch {
		case d.T == 1:
			p.qRow = q.sh
		case q.sh != d.T*q.st:
			p.qRow = 0
		}
	}
	p.vt = p.vh * d.T
	p.nq = (p.vt + p.tq - 1) / p.tq
	p.lse, p.lseLo = lse, lseLo
	p.rowM, p.rowL = p.rowM[:0], p.rowL[:0]
	if w.data != nil {
		p.rowM = grow(p.rowM, d.B*d.H*d.T)
		p.rowL = grow(p.rowL, d.B*d.H*d.T)
	}
	base := d.B * (d.H / p.vh) * p.nq
	p.splits = planSplits(d.S, base)
	if p.splits > 1 {
		n := base * p.splits
		p.partO = grow(p.partO, n*p.tq*dv)
		p.partM = grow(p.partM, n*p.tq)
		p.partL = grow(p.partL, n*p.tq)
	}
	p.weightsPass = false
	// With at least one whole micro-tile of queries, scores run on keys
	// packed once per head and goroutine; below that (decoding) the small-m
	// GEMM reads the keys in place.
	p.packed = p.vt >= p.tiles.MR()
	if p.packed {
		p.slots = grow(p.slots, parallel.Workers())
		for i := range p.slots {
			p.slots[i].valid = false
		}
	}
	parallel.RunSlots(base*p.splits, p)
	if p.splits > 1 {
		p.merge()
	}
	if w.data != nil {
		// The slots' packed keys stay valid: same call, same keys.
		p.weights, p.weightsPass = w, true
		parallel.RunSlots(base, p)
	}
	p.lse, p.lseLo = nil, nil
	// Pooled plans keep their scratch for the next call, but not packed
	// keys of a long sequence (S·Dh floats per goroutine: 16 MiB at S =
	// 65536, Dh = 64), which concurrent callers would otherwise each keep.
	for i := range p.slots {
		if cap(p.slots[i].kp) > maxKeptPacked {
			p.slots[i].kp = nil
		}
	}
}

// maxKeptPacked is the largest packed-keys buffer (in floats) a pooled plan
// keeps between calls: 1 MiB covers S = 4096 at Dh = 64.
const maxKeptPacked = 1 << 18

// planSplits returns into how many chunks each of base tasks' key range
// (S keys) is split: 1 unless there are fewer than two tasks per worker and
// enough keys for each chunk to hold at least two key tiles.
func planSplits(S, base int) int {
	workers := parallel.Workers()
	if base >= 2*workers || S < 4*tileK {
		return 1
	}
	return min((2*workers+base-1)/base, S/(2*tileK))
}

// task returns the batch, first query head, kv head, first row and row
// count of query tile task (split index removed).
func (p *flashPlan) task(task int) (b, h0, kh, i0, br int) {
	// Causal work grows with the query tile; hand out the heavy ones first.
	qt := p.nq - 1 - task%p.nq
	bh := task / p.nq
	nh := p.d.H / p.vh
	b, h0 = bh/nh, bh%nh*p.vh
	kh = h0 / (p.d.H / p.hkv)
	i0 = qt * p.tq
	return b, h0, kh, i0, min(p.tq, p.vt-i0)
}

// rowHT returns the query head and position of row u of a stack starting
// at head h0.
func (p *flashPlan) rowHT(h0, u int) (h, t int) {
	if p.vh == 1 {
		return h0, u
	}
	return h0 + u/p.d.T, u % p.d.T
}

// RunSlot processes one task: (bh, query tile, split) in the forward pass,
// or (bh, query tile) in the weights pass.
func (p *flashPlan) RunSlot(slot, task int) {
	split := 0
	if !p.weightsPass {
		split = task % p.splits
		task /= p.splits
	}
	b, h, kh, i0, br := p.task(task)

	w := workPool.Get()
	defer workPool.Put(w)
	w.size(p.tq, tileK, p.dv, len(p.masks))
	w.qpad = grow(w.qpad, p.tq*p.dh)
	jStart, jEnd := w.gatherRows(p.masks, p.d, b, h, p.vh, i0, br)
	if p.packed && jStart < jEnd {
		// Key tiles start on panel boundaries; the keys this adds before
		// the open range are masked like any other closed key.
		jStart = jStart / p.tiles.NR() * p.tiles.NR()
	}
	if !p.weightsPass && p.splits > 1 {
		// Split the open key range into tile-aligned chunks.
		n := (jEnd - jStart + tileK - 1) / tileK
		per := (n + p.splits - 1) / p.splits
		jStart, jEnd = min(jStart+split*per*tileK, jEnd), min(jStart+(split+1)*per*tileK, jEnd)
	}
	var kt keyTiles
	if p.packed && jStart < jEnd {
		kt = p.prepareTile(w, slot, b, h, kh, i0, br, jStart, jEnd)
	} else if jStart < jEnd {
		kt.q, kt.qRow = p.queryRows(w, b, h, i0, br, br)
	}
	if p.weightsPass {
		p.weightsTile(w, kt, b, h, kh, i0, br, jStart, jEnd)
		return
	}
	dv := p.dv
	o := w.o[:br*dv]
	clear(w.o)
	for r := 0; r < br; r++ {
		w.m[r] = float32(math.Inf(-1))
		w.l[r] = 0
	}
	for j0 := jStart; j0 < jEnd; j0 += tileK {
		bc := min(tileK, jEnd-j0)
		full := true // every micro-row group open over the whole tile
		if kt.ok {
			full = w.groupRanges(p.tiles.MR(), kt.mt, br, j0, bc)
		}
		if full {
			p.scoreTile(w, kt, b, kh, br, j0, bc)
		} else {
			p.scoreGroups(w, kt, j0, bc)
		}
		w.maskTile(w.s, tileK, br, j0, bc)
		// Online softmax: fold this tile into the running max and sum.
		// Each row is read over its open columns only (the rest are -Inf,
		// weight 0, and are cleared), widened to multiples of 8 columns
		// so that the vector kernels need no scalar tail; the widening
		// past bc is set to -Inf. P·V reads only the first bc.
		bc8 := min((bc+7)&^7, tileK)
		negInf := float32(math.Inf(-1))
		for r := 0; r < br; r++ {
			row := w.s[r*tileK : r*tileK+bc8]
			c0 := min(max(w.lo[r]-j0, 0), bc) &^ 7
			c1 := min((min(max(w.hi[r]-j0, 0), bc)+7)&^7, bc8)
			if c0 >= c1 {
				clear(row)
				continue
			}
			clear(row[:c0])
			clear(row[c1:])
			row = row[c0:c1]
			for j := bc - c0; j < len(row); j++ {
				row[j] = negInf
			}
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
			if w.m[r] != mNew {
				if corr := float32(math.Exp(float64(w.m[r] - mNew))); corr != 1 {
					kernel.ScaleInPlace(corr, o[r*dv:(r+1)*dv])
					w.l[r] *= corr
				}
			}
			w.l[r] += sum
			w.m[r] = mNew
			if p.drop.P > 0 {
				hr, tr := p.rowHT(h, i0+r)
				dropRow(p.drop, w.s[r*tileK:r*tileK+bc], rowIndex(p.d, b, hr, tr, j0))
			}
		}
		voff := p.v.off + b*p.v.sb + kh*p.v.sh + j0*p.v.st
		if kt.ok && dv%p.tiles.NR() == 0 {
			// Whole micro-tiles on V in place; the padding rows of the
			// score tile (zero queries) only reach o's padding rows. A
			// boundary tile's groups run over their open columns only:
			// the weights outside are zero.
			nr := p.tiles.NR()
			if full {
				p.tiles.Run(kt.mt, dv/nr, bc, 1, w.s, 1, tileK, p.v.data[voff:], p.v.st, nr, 1, w.o, dv)
			} else {
				mr := p.tiles.MR()
				for g := 0; g < kt.mt; g++ {
					if c0, c1 := w.glo[g], w.ghi[g]; c0 < c1 {
						p.tiles.Run(1, dv/nr, c1-c0, 1, w.s[g*mr*tileK+c0:], 1, tileK, p.v.data[voff+c0*p.v.st:], p.v.st, nr, 1, w.o[g*mr*dv:], dv)
					}
				}
			}
		} else {
			kernel.GemmSerial(false, false, br, dv, bc, 1, w.s, tileK, p.v.data[voff:], p.v.st, 1, o, dv)
		}
	}
	for r := 0; r < br; r++ {
		if w.bad[r] {
			w.l[r] = float32(math.NaN())
		}
	}
	if p.splits > 1 {
		t := task*p.splits + split
		copy(p.partO[t*p.tq*dv:], o)
		copy(p.partM[t*p.tq:], w.m[:br])
		copy(p.partL[t*p.tq:], w.l[:br])
		return
	}
	p.finish(b, h, i0, br, o, w.m, w.l)
}

// keyTiles is one query tile's operands: the query rows (q, row stride
// qRow) and, for the packed path (ok), the number mt of micro-tiles of
// rows and the packed keys, whose first panel holds key lo.
type keyTiles struct {
	ok   bool
	q    []float32
	qRow int
	mt   int
	kp   []float32
	lo   int
}

// prepareTile readies the packed path for query rows [i0, i0+br) of the
// stack from head h, batch b, against keys [jStart, jEnd) of kv head kh:
// the slot's packed keys, and the query rows, zero-padded to whole
// micro-tiles (so the kernel never reads past the tile's rows).
func (p *flashPlan) prepareTile(w *flashWork, slot, b, h, kh, i0, br, jStart, jEnd int) keyTiles {
	mr := p.tiles.MR()
	kt := keyTiles{ok: true, mt: (br + mr - 1) / mr}
	kt.q, kt.qRow = p.queryRows(w, b, h, i0, br, kt.mt*mr)
	kt.kp, kt.lo = p.packedKeys(slot, b, kh, jStart, jEnd)
	return kt
}

// queryRows returns rows [i0, i0+br) of the query stack from head h0,
// batch b, and their row stride: in place when they are evenly spaced
// and no padding is asked for, else copied into w.qpad with zero rows up
// to rows.
func (p *flashPlan) queryRows(w *flashWork, b, h0, i0, br, rows int) ([]float32, int) {
	dh := p.dh
	if p.qRow != 0 {
		qoff := p.q.off + b*p.q.sb + h0*p.q.sh + i0*p.qRow
		if br == rows {
			return p.q.data[qoff:], p.qRow
		}
		return padRows(w.qpad, p.q.data[qoff:], p.qRow, br, rows, dh), dh
	}
	for r := range br {
		h, t := p.rowHT(h0, i0+r)
		copy(w.qpad[r*dh:(r+1)*dh], p.q.row(b, h, t, dh))
	}
	clear(w.qpad[br*dh : rows*dh])
	return w.qpad, dh
}

// packedKeys returns Kᵀ of keys [lo, hi) of kv head kh, batch b, packed
// in micro-kernel panels, and the key its first panel starts at: the
// slot's copy when it already holds them (a goroutine's tasks run through
// one head's query tiles in turn, so each head is packed about once per
// goroutine, not once per query tile), else packed now.
func (p *flashPlan) packedKeys(slot, b, kh, lo, hi int) ([]float32, int) {
	s := &p.slots[slot]
	if !s.valid || s.b != b || s.kh != kh || lo < s.lo || hi > s.hi {
		n := hi - lo
		s.kp = grow(s.kp, p.tiles.PackedLen(n, p.dh))
		koff := p.k.off + b*p.k.sb + kh*p.k.sh + lo*p.k.st
		p.tiles.PackTrans(s.kp, p.k.data[koff:], p.k.st, n, p.dh)
		s.b, s.kh, s.lo, s.hi, s.valid = b, kh, lo, hi, true
	}
	return s.kp[(lo-s.lo)*p.dh:], lo
}

// scoreTile computes w.s[:br, :bc] = scale · Q·K[j0:j0+bc]ᵀ for the tile's
// query rows kt.q. On the packed path (kt.ok) it computes whole
// micro-tiles: rows up to kt.mt·MR and columns up to the next multiple of
// NR, which w.s has room for.
func (p *flashPlan) scoreTile(w *flashWork, kt keyTiles, b, kh, br, j0, bc int) {
	if kt.ok {
		nr := p.tiles.NR()
		p.tiles.Run(kt.mt, (bc+nr-1)/nr, p.dh, p.scale, kt.q, 1, kt.qRow, kt.kp[(j0-kt.lo)*p.dh:], nr, p.dh*nr, 0, w.s, tileK)
		return
	}
	koff := p.k.off + b*p.k.sb + kh*p.k.sh + j0*p.k.st
	kernel.GemmSerial(false, true, br, bc, p.dh, p.scale, kt.q, kt.qRow, p.k.data[koff:], p.k.st, 0, w.s, tileK)
}

// scoreGroups is scoreTile's packed path for a boundary tile (a causal
// diagonal, a window's edge): each micro-row group's scores are computed
// over the whole panels that cover its open columns (w.glo, w.ghi) and
// nowhere else. The columns it leaves are outside every row's open range,
// so maskTile sets them to -Inf.
func (p *flashPlan) scoreGroups(w *flashWork, kt keyTiles, j0, bc int) {
	mr, nr, dh := p.tiles.MR(), p.tiles.NR(), p.dh
	kp := kt.kp[(j0-kt.lo)*dh:]
	for g := 0; g < kt.mt; g++ {
		c0, c1 := w.glo[g], w.ghi[g]
		if c0 >= c1 {
			continue
		}
		p0, p1 := c0/nr, (c1+nr-1)/nr
		p.tiles.Run(1, p1-p0, dh, p.scale, kt.q[g*mr*kt.qRow:], 1, kt.qRow, kp[p0*nr*dh:], nr, dh*nr, 0, w.s[g*mr*tileK+p0*nr:], tileK)
	}
}

// finish normalises the accumulator rows, writes them to the output and
// records the row log-sum-exp. A row with l = 0 saw no allowed key: its
// output is zero and its lse -Inf.
func (p *flashPlan) finish(b, h0, i0, br int, o, m, l []float32) {
	dv := p.dv
	for r := 0; r < br; r++ {
		h, t := p.rowHT(h0, i0+r)
		dst := p.out.row(b, h, t, dv)
		lse, lo := float32(math.Inf(-1)), float32(0)
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
			lse, lo = splitLSE(float64(m[r]) + math.Log(float64(l[r])))
		} else {
			clear(dst)
		}
		at := (b*p.d.H+h)*p.d.T + t
		if p.lse != nil {
			p.lse[at] = lse
		}
		if p.lseLo != nil {
			p.lseLo[at] = lo
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
	p.mergeO = grow(p.mergeO, p.tq*dv)
	p.mergeM = grow(p.mergeM, p.tq)
	p.mergeL = grow(p.mergeL, p.tq)
	o, m, l := p.mergeO, p.mergeM, p.mergeL
	for task := 0; task < p.d.B*(p.d.H/p.vh)*p.nq; task++ {
		b, h, _, i0, br := p.task(task)
		clear(o)
		for r := 0; r < br; r++ {
			M := float32(math.Inf(-1))
			for s := 0; s < p.splits; s++ {
				t := task*p.splits + s
				if ls := p.partL[t*p.tq+r]; ls > 0 {
					M = max(M, p.partM[t*p.tq+r])
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
					ls := p.partL[t*p.tq+r]
					if ls == 0 {
						continue
					}
					f := float32(math.Exp(float64(p.partM[t*p.tq+r] - M)))
					L += ls * f
					kernel.Axpy(f, p.partO[t*p.tq*dv+r*dv:t*p.tq*dv+(r+1)*dv], dst)
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
func (p *flashPlan) weightsTile(w *flashWork, kt keyTiles, b, h0, kh, i0, br, jStart, jEnd int) {
	for r := 0; r < br; r++ {
		h, t := p.rowHT(h0, i0+r)
		row := p.weights.row(b, h, t, p.d.S)
		clear(row[:jStart])
		clear(row[jEnd:])
	}
	for j0 := jStart; j0 < jEnd; j0 += tileK {
		bc := min(tileK, jEnd-j0)
		p.scoreTile(w, kt, b, kh, br, j0, bc)
		w.maskTile(w.s, tileK, br, j0, bc)
		for r := 0; r < br; r++ {
			row := w.s[r*tileK : r*tileK+bc]
			h, t := p.rowHT(h0, i0+r)
			at := (b*p.d.H+h)*p.d.T + t
			if l := p.rowL[at]; l > 0 {
				kernel.ExpShift(row, p.rowM[at])
				for j := range row {
					row[j] /= l
				}
				if p.drop.P > 0 {
					dropRow(p.drop, row, rowIndex(p.d, b, h, t, j0))
				}
			} else {
				clear(row)
			}
			copy(p.weights.row(b, h, t, p.d.S)[j0:j0+bc], row)
		}
	}
}
