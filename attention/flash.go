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

// flashWork is one worker's scratch, reused across calls.
type flashWork struct {
	s      []float32 // [tq, tileK] scores, then probabilities
	o      []float32 // [tq, Dv] output accumulator
	m, l   []float32 // [tq] running max and sum
	lo, hi []int     // [tq] open key range per row
	glo    []int     // [tq/MR] a key tile's open columns per micro-row group: [glo, ghi)
	ghi    []int
	klo    []int // [keys/MR] backward: the query rows that see a micro-group of keys: [klo, khi)
	khi    []int
	qpad   []float32 // [tq, Dh] a partial query tile, zero-padded to whole micro-tiles
	bad    []bool    // [tq] row saw a NaN or +Inf score
	rows   []maskRow // [tq·len(masks)] per-element masks per row
	nm     int       // masks per row in rows
	elem   bool      // some mask has per-element values
	// backward only
	dp, pd       []float32 // [tq, ld] dP and the weights after dropout
	dopad        []float32 // [tq, Dv] a partial tile of dO rows, zero-padded
	dqTmp        []float32 // [tq, Dh] dQ of a partial query tile
	kp, vp       []float32 // the key tile's Kᵀ and Vᵀ, packed
	dkAcc, dvAcc []float32 // [accRow, Dh], [accRow, Dv] the key tile's dK and dV sums
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

// groupRanges sets w.glo[g], w.ghi[g], for each of the mt micro-row groups
// (MR rows) of the query tile, to the columns of key tile [j0, j0+bc) that
// some real row of the group (r < br) may attend to, relative to j0 (0, 0
// when none). It reports whether every group is open over the whole tile.
func (w *flashWork) groupRanges(mr, mt, br, j0, bc int) bool {
	full := true
	for g := 0; g < mt; g++ {
		lo, hi := bc, 0
		for r := g * mr; r < min((g+1)*mr, br); r++ {
			if a, b := max(w.lo[r]-j0, 0), min(w.hi[r]-j0, bc); a < b {
				lo, hi = min(lo, a), max(hi, b)
			}
		}
		if lo >= hi {
			lo, hi = 0, 0
		}
		full = full && lo == 0 && hi == bc
		w.glo[g], w.ghi[g] = lo, hi
	}
	return full
}

// keyGroupRanges sets w.klo[g], w.khi[g], for each of the mtk micro-groups
// of MR keys of key tile [j0, j0+bc), to the query rows r < br whose open
// range meets the group (a bounding range; 0, 0 when none).
func (w *flashWork) keyGroupRanges(mr, mtk, br, j0, bc int) {
	w.klo, w.khi = grow(w.klo, mtk), grow(w.khi, mtk)
	for g := 0; g < mtk; g++ {
		k0, k1 := j0+g*mr, j0+min((g+1)*mr, bc)
		lo, hi := br, 0
		for r := 0; r < br; r++ {
			if w.lo[r] < k1 && w.hi[r] > k0 && w.lo[r] < w.hi[r] {
				lo, hi = min(lo, r), r+1
			}
		}
		if lo >= hi {
			lo, hi = 0, 0
		}
		w.klo[g], w.khi[g] = lo, hi
	}
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

// size makes the scratch fit tiles of br×bc scores, an output accumulator
// of br×dv and nm masks.
func (w *flashWork) size(br, bc, dv, nm int) {
	w.s = grow(w.s, br*bc)
	w.o = grow(w.o, br*dv)
	w.m = grow(w.m, br)
	w.l = grow(w.l, br)
	w.lo = grow(w.lo, br)
	w.hi = grow(w.hi, br)
	w.glo = grow(w.glo, br)
	w.ghi = grow(w.ghi, br)
	w.bad = grow(w.bad, br)
	clear(w.bad)
	w.rows = grow(w.rows, br*nm)
	w.nm = nm
}

// gather collects, for each of the br rows starting at query i0, the open
// key range and the per-element mask rows. It returns the union of the open
// ranges (0, 0 when every row is fully masked).
func (w *flashWork) gather(masks []Mask, d Dims, b, h, i0, br int) (jStart, jEnd int) {
	return w.gatherRows(masks, d, b, h, 1, i0, br)
}

// gatherRows is gather for the rows of a stack of vh query heads from h0:
// row u is query u%T of head h0 + u/T (vh 1: query u of head h0).
func (w *flashWork) gatherRows(masks []Mask, d Dims, b, h0, vh, i0, br int) (jStart, jEnd int) {
	nm := len(masks)
	w.elem = false
	jStart, jEnd = d.S, 0
	for r := 0; r < br; r++ {
		h, t := h0, i0+r
		if vh > 1 {
			h, t = h0+t/d.T, t%d.T
		}
		lo, hi := 0, d.S
		for k, m := range masks {
			mr := m.row(d, b, h, t)
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

// maskTile applies the masks to the scores s (row stride ld) of key tile
// [j0, j0+bc): keys outside a row's open range become -Inf, per-element
// masks are applied. Tiles entirely inside every row's range with no
// per-element mask are left alone.
func (w *flashWork) maskTile(s []float32, ld, br, j0, bc int) {
	j1 := j0 + bc
	negInf := float32(math.Inf(-1))
	nm := w.nm
	for r := 0; r < br; r++ {
		lo, hi := w.lo[r], w.hi[r]
		if !w.elem && lo <= j0 && j1 <= hi {
			continue
		}
		row := s[r*ld : r*ld+bc]
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

// Fused backward (FlashAttention-2's). See docs/flash-backward.md.
//
// Shape legend as above, plus dO = dout [B,H,T,Dv], the gradients dQ, dK,
// dV shaped like Q, K, V, lse [B,H,T] from the forward, and D [B,H,T] with
// D_i = dO_i·O_i. Tiles are tq query rows (bwdTileQ rounded up to whole
// micro-tiles) by bwdTileK keys.
//
// For one (query tile, key tile) pair, five small GEMMs:
//
//	S   = scale·Q·Kᵀ (+ masks)        P = exp(S − lse)      P' = P∘Z/(1−p)
//	dV += P'ᵀ·dO                      dP = (dO·Vᵀ)∘Z/(1−p)
//	dS  = P∘(dP − D)
//	dK += scale·dSᵀ·Q                 dQ += scale·dS·K
//
// dK and dV rows belong to one key tile of one key/value head, so tasks
// that own (batch, kv head, key tile) write them without races, summing
// over every query head of the group (GQA). dQ rows of one query tile
// receive a contribution from every key tile; two schedules avoid atomics:
//
//   - owner (the default when there are enough (batch, kv head) pairs to
//     keep every worker busy): a task owns a whole (batch, kv head) and
//     walks all its key tiles, adding dQ directly: five GEMMs per pair;
//   - two passes (few heads, e.g. one sequence with few kv heads): pass 1
//     is parallel over (batch, kv head, key tile) and computes dK and dV;
//     pass 2 is parallel over (batch, head, query tile) and recomputes S, P
//     and dP to add dQ: seven GEMMs per pair, but every worker busy.
//
// Neither keeps a T×S matrix or a per-worker copy of dQ: beyond the tiles,
// memory is D and the per-query-tile key ranges, O(B·H·T).
//
// When Dh and Dv are multiples of the micro-kernel's width (Dh = 64 with
// AVX2, AVX-512 or pure Go), the products run as whole micro-tiles
// (kernel.Tiles): the key tile's K and V are packed once and reused by
// every query tile and head of the group, dK and dV are summed for the
// key tile in a scratch accumulator and added once, and the transposed
// products read P and dS in place. Otherwise each product is a GemmSerial
// call.

const (
	bwdTileQ = 64 // query rows per backward tile
	bwdTileK = 64 // keys per backward tile (128 measured slower: see docs/flash-backward.md)
)

// Backward schedules (flashBwdPlan.mode).
const (
	bwdPrep    = iota // per (b, h): D and the key range of every query tile
	bwdOwner          // per (b, kv head): every key tile, dQ included
	bwdKeys           // per (b, kv head, key tile): dK and dV
	bwdQueries        // per (b, h, query tile): dQ
)

// bwdSchedule forces a schedule when not zero (tests run both): bwdOwner
// or bwdKeys (the two-pass schedule).
var bwdSchedule int

// flashBwdPlan holds one fused backward call; it is the parallel.Task.
type flashBwdPlan struct {
	d                  Dims
	hkv, dh, dv, group int
	scale              float32
	dq, dk, dvv, dout  operand[float32]
	q, k, v, out       operand[float32]
	lse                []float32 // [B,H,T]
	loScale            []float32 // [B,H,T] exp(−lo), lo the rounding residual of lse; nil without one
	delta              []float32 // [B,H,T]: D_i = dO_i·O_i
	qlo, qhi           []int     // [B,H,nq]: union of the open key ranges of each query tile
	masks              []Mask
	drop               Dropout
	tq                 int // query rows per tile
	nq, nk             int
	mode               int
	lseLo              []float32 // the caller's residuals, read by the prep pass
	// packed path (see the comment above)
	tiles  kernel.Tiles
	packed bool
	ld     int // row stride of the score tiles
	accRow int // rows of the dK and dV accumulators
}

var bwdPlanPool = parallel.NewCache(func() *flashBwdPlan { return new(flashBwdPlan) })

// flashBackward adds the gradients into dq, dk, dvv.
func flashBackward(d Dims, hkv, dh, dv int, scale float32, dq, dk, dvv, dout, q, k, v, out operand[float32], lse, lseLo []float32, masks []Mask, drop Dropout) {
	p := bwdPlanPool.Get()
	defer func() {
		p.dq.data, p.dk.data, p.dvv.data, p.dout.data = nil, nil, nil, nil
		p.q.data, p.k.data, p.v.data, p.out.data = nil, nil, nil, nil
		p.lse, p.lseLo, p.masks = nil, nil, nil
		bwdPlanPool.Put(p)
	}()
	p.d, p.hkv, p.dh, p.dv, p.group, p.scale = d, hkv, dh, dv, d.H/hkv, scale
	p.dq, p.dk, p.dvv, p.dout = dq, dk, dvv, dout
	p.q, p.k, p.v, p.out = q, k, v, out
	p.lse, p.lseLo, p.masks, p.drop = lse, lseLo, masks, drop
	p.tiles = kernel.CurrentTiles()
	mr, nr := p.tiles.MR(), p.tiles.NR()
	p.packed = dh%nr == 0 && dv%nr == 0
	p.tq = bwdTileQ
	// Score tiles: columns for whole NR panels of a key tile, and, since
	// the transposed products read them as rows of whole micro-tiles, at
	// least a key tile rounded up to MR.
	p.ld = bwdTileK
	if p.packed {
		p.tq = roundUp(bwdTileQ, mr)
		p.ld = max(roundUp(bwdTileK, nr), roundUp(bwdTileK, mr))
		p.accRow = roundUp(bwdTileK, mr)
	}
	p.nq = (d.T + p.tq - 1) / p.tq
	p.nk = (d.S + bwdTileK - 1) / bwdTileK
	p.delta = grow(p.delta, d.B*d.H*d.T)
	p.loScale = p.loScale[:0]
	if lseLo != nil {
		p.loScale = grow(p.loScale, d.B*d.H*d.T)
	}
	p.qlo = grow(p.qlo, d.B*d.H*p.nq)
	p.qhi = grow(p.qhi, d.B*d.H*p.nq)
	p.mode = bwdPrep
	parallel.Run(d.B*d.H, p)
	if p.twoPass() {
		p.mode = bwdKeys
		parallel.Run(d.B*hkv*p.nk, p)
		p.mode = bwdQueries
		parallel.Run(d.B*d.H*p.nq, p)
		return
	}
	p.mode = bwdOwner
	parallel.Run(d.B*hkv, p)
}

func roundUp(n, m int) int { return (n + m - 1) / m * m }

// twoPass chooses the schedule: owner tasks do 5/7 of the two-pass work,
// so they win unless fewer than 3/4 of the workers would be busy on
// average (n tasks on w workers keep n/(w·⌈n/w⌉) of them busy).
func (p *flashBwdPlan) twoPass() bool {
	switch bwdSchedule {
	case bwdOwner:
		return false
	case bwdKeys:
		return true
	}
	if p.nk == 1 {
		return false // one key tile: the owner schedule is the two-pass one
	}
	n, w := p.d.B*p.hkv, parallel.Workers()
	rounds := (n + w - 1) / w
	return 4*n < 3*w*rounds
}

// Run processes one task of the current mode.
func (p *flashBwdPlan) Run(task int) {
	w := workPool.Get()
	defer workPool.Put(w)
	w.size(p.tq, p.ld, p.dv, len(p.masks))
	w.dp = grow(w.dp, p.tq*p.ld)
	if p.drop.P > 0 {
		w.pd = grow(w.pd, p.tq*p.ld)
	}
	if p.packed {
		w.qpad = grow(w.qpad, p.tq*p.dh)
		w.dopad = grow(w.dopad, p.tq*p.dv)
		w.dqTmp = grow(w.dqTmp, p.tq*p.dh)
		w.kp = grow(w.kp, p.tiles.PackedLen(bwdTileK, p.dh))
		w.vp = grow(w.vp, p.tiles.PackedLen(bwdTileK, p.dv))
		w.dkAcc = grow(w.dkAcc, p.accRow*p.dh)
		w.dvAcc = grow(w.dvAcc, p.accRow*p.dv)
	}
	d := p.d
	switch p.mode {
	case bwdPrep:
		b, h := task/d.H, task%d.H
		// D_i = dO_i·O_i, summed in float64: dS = P∘(dP − D) cancels when a
		// row's weight sits on few keys, so D's own rounding matters.
		for i := 0; i < d.T; i++ {
			var sum float64
			o := p.out.row(b, h, i, p.dv)
			for c, x := range p.dout.row(b, h, i, p.dv) {
				sum += float64(x) * float64(o[c])
			}
			p.delta[task*d.T+i] = float32(sum)
		}
		// exp(−lo) once per row rather than once per tile pair.
		if p.lseLo != nil {
			for i := task * d.T; i < (task+1)*d.T; i++ {
				p.loScale[i] = float32(math.Exp(-float64(p.lseLo[i])))
			}
		}
		for qt := 0; qt < p.nq; qt++ {
			i0 := qt * p.tq
			p.qlo[task*p.nq+qt], p.qhi[task*p.nq+qt] = w.gather(p.masks, d, b, h, i0, min(p.tq, d.T-i0))
		}
	case bwdOwner:
		b, kh := task/p.hkv, task%p.hkv
		for kt := 0; kt < p.nk; kt++ {
			p.keyTile(w, b, kh, kt, true)
		}
	case bwdKeys:
		kt := task % p.nk
		task /= p.nk
		p.keyTile(w, task/p.hkv, task%p.hkv, kt, false)
	case bwdQueries:
		// Causal work grows with the query tile: hand out the heavy ones first.
		qt := p.nq - 1 - task%p.nq
		bh := task / p.nq
		b, h := bh/d.H, bh%d.H
		i0 := qt * p.tq
		br := min(p.tq, d.T-i0)
		jStart, jEnd := p.qlo[bh*p.nq+qt], p.qhi[bh*p.nq+qt]
		if jStart >= jEnd {
			return
		}
		w.gather(p.masks, d, b, h, i0, br)
		for j0 := jStart; j0 < jEnd; j0 += bwdTileK {
			bc := min(bwdTileK, jEnd-j0)
			if p.packed {
				p.packKeyTile(w, b, h/p.group, j0, bc)
			}
			p.tilePair(w, b, h, h/p.group, i0, br, j0, bc, j0, bc, true, false)
		}
	}
}

// packKeyTile packs Kᵀ and Vᵀ of keys [j0, j0+bc) of kv head kh into w.kp
// and w.vp (packed path).
func (p *flashBwdPlan) packKeyTile(w *flashWork, b, kh, j0, bc int) {
	koff := p.k.off + b*p.k.sb + kh*p.k.sh + j0*p.k.st
	voff := p.v.off + b*p.v.sb + kh*p.v.sh + j0*p.v.st
	p.tiles.PackTrans(w.kp, p.k.data[koff:], p.k.st, bc, p.dh)
	p.tiles.PackTrans(w.vp, p.v.data[voff:], p.v.st, bc, p.dv)
}

// keyTile adds the contributions of key tile kt of kv head kh, batch b, to
// dK and dV (and to dQ when withDQ), over every query head of the group and
// every query tile whose open key range meets the tile.
func (p *flashBwdPlan) keyTile(w *flashWork, b, kh, kt int, withDQ bool) {
	d := p.d
	j0, j1 := kt*bwdTileK, min((kt+1)*bwdTileK, d.S)
	if p.packed {
		p.packKeyTile(w, b, kh, j0, j1-j0)
		clear(w.dkAcc)
		clear(w.dvAcc)
	}
	for h := kh * p.group; h < (kh+1)*p.group; h++ {
		bh := b*d.H + h
		for qt := 0; qt < p.nq; qt++ {
			lo, hi := max(j0, p.qlo[bh*p.nq+qt]), min(j1, p.qhi[bh*p.nq+qt])
			if lo >= hi {
				continue
			}
			i0 := qt * p.tq
			br := min(p.tq, d.T-i0)
			w.gather(p.masks, d, b, h, i0, br)
			// The packed path takes the whole packed key tile (keys outside
			// [lo, hi) are masked for every row, so they add nothing to dK
			// and dV); dQ is over [lo, hi) either way.
			k0, k1 := lo, hi
			if p.packed {
				k0, k1 = j0, j1
			}
			p.tilePair(w, b, h, kh, i0, br, k0, k1-k0, lo, hi-lo, withDQ, true)
		}
	}
	if p.packed {
		// dK += the key tile's sums, likewise dV.
		for j := j0; j < j1; j++ {
			r := j - j0
			kernel.Axpy(1, w.dkAcc[r*p.dh:(r+1)*p.dh], p.dk.row(b, kh, j, p.dh))
			kernel.Axpy(1, w.dvAcc[r*p.dv:(r+1)*p.dv], p.dvv.row(b, kh, j, p.dv))
		}
	}
}

// tilePair processes query rows [i0, i0+br) of head h against keys [j0,
// j0+bc) of kv head kh; w holds the rows' masks (gather), and on the packed
// path w.kp and w.vp the keys and values of [j0, j0+bc), and w.dkAcc and
// w.dvAcc the key tile's dK and dV sums. It adds to dQ when doDQ, from
// keys [q0, q0+qc) only (within [j0, j0+bc): no key outside the rows' open
// ranges is read for dQ, so a NaN in a masked key cannot leak into it),
// and to dK and dV when doDKV.
func (p *flashBwdPlan) tilePair(w *flashWork, b, h, kh, i0, br, j0, bc, q0, qc int, doDQ, doDKV bool) {
	ld := p.ld
	d := p.d
	s, dp := w.s[:p.tq*ld], w.dp[:p.tq*ld]
	qoff := p.q.off + b*p.q.sb + h*p.q.sh + i0*p.q.st
	koff := p.k.off + b*p.k.sb + kh*p.k.sh + j0*p.k.st
	voff := p.v.off + b*p.v.sb + kh*p.v.sh + j0*p.v.st
	dooff := p.dout.off + b*p.dout.sb + h*p.dout.sh + i0*p.dout.st
	bh := b*d.H + h
	tl := p.tiles
	mr, nr := tl.MR(), tl.NR()
	mt := (br + mr - 1) / mr // query micro-tiles
	mtk := (bc + mr - 1) / mr
	ntk := (bc + nr - 1) / nr

	// Query and dO rows as micro-kernel A: in place, or zero-padded copies
	// when br is not a whole number of micro-tiles.
	qa, qRow := p.q.data[qoff:], p.q.st
	doa, doRow := p.dout.data[dooff:], p.dout.st
	if p.packed && br%mr != 0 {
		qa, qRow = padRows(w.qpad, p.q.data[qoff:], p.q.st, br, mt*mr, p.dh), p.dh
		doa, doRow = padRows(w.dopad, p.dout.data[dooff:], p.dout.st, br, mt*mr, p.dv), p.dv
	}

	// On a boundary tile (the causal diagonal, a window's edge) each
	// product runs only where some row may look: per micro-group of query
	// rows over its open key columns, per micro-group of keys over the query
	// rows that see them. What it leaves in S is masked to -Inf below, what
	// it leaves in dP only meets zeros of P.
	full := true
	if p.packed {
		full = w.groupRanges(mr, mt, br, j0, bc)
		if !full {
			w.keyGroupRanges(mr, mtk, br, j0, bc)
		}
	}
	// rowGroups runs C = alpha·A·B over whole panels of each query group's
	// open columns; a holds the group rows (row stride aRow), b the packed
	// panels, c rows of stride ld.
	rowGroups := func(k int, alpha float32, a []float32, aRow int, b []float32, c []float32) {
		for g := 0; g < mt; g++ {
			if c0, c1 := w.glo[g], w.ghi[g]; c0 < c1 {
				p0, p1 := c0/nr, (c1+nr-1)/nr
				tl.Run(1, p1-p0, k, alpha, a[g*mr*aRow:], 1, aRow, b[p0*nr*k:], nr, k*nr, 0, c[g*mr*ld+p0*nr:], ld)
			}
		}
	}
	// keyGroups adds alpha·Aᵀ·B into acc (row stride wd) for each micro-group
	// of keys, A read transposed from a (stride ld), B rows of stride bRow,
	// over the query rows that see the group.
	keyGroups := func(wd int, alpha float32, a []float32, b []float32, bRow int, acc []float32) {
		for g := 0; g < mtk; g++ {
			if r0, r1 := w.klo[g], w.khi[g]; r0 < r1 {
				tl.Run(1, wd/nr, r1-r0, alpha, a[r0*ld+g*mr:], ld, 1, b[r0*bRow:], bRow, nr, 1, acc[g*mr*wd:], wd)
			}
		}
	}

	// P = exp(scale·Q·Kᵀ + masks − lse); fully masked rows (lse = -Inf) are
	// 0. With the residual lo of lse, P = exp(S − lse)·exp(−lo).
	switch {
	case p.packed && full:
		tl.Run(mt, ntk, p.dh, p.scale, qa, 1, qRow, w.kp, nr, p.dh*nr, 0, s, ld)
	case p.packed:
		rowGroups(p.dh, p.scale, qa, qRow, w.kp, s)
	default:
		kernel.GemmSerial(false, true, br, bc, p.dh, p.scale, p.q.data[qoff:], p.q.st, p.k.data[koff:], p.k.st, 0, s, ld)
	}
	w.maskTile(s, ld, br, j0, bc)
	for r := 0; r < br; r++ {
		row := s[r*ld : r*ld+bc]
		at := bh*d.T + i0 + r
		// Only the row's open columns can be non-zero. The range is widened
		// to whole 8-column vectors from the row's start (the widening is
		// masked, so weight 0), so that every column takes the same exp,
		// vector kernel or scalar tail, as over the whole row.
		c0, c1 := min(max(w.lo[r]-j0, 0), bc), min(max(w.hi[r]-j0, 0), bc)
		if c0 < c1 {
			c0, c1 = c0&^7, min((c1+7)&^7, bc)
		}
		if l := p.lse[at]; math.IsInf(float64(l), -1) || c0 >= c1 {
			clear(row)
		} else {
			clear(row[:c0])
			clear(row[c1:])
			row = row[c0:c1]
			kernel.ExpShift(row, l)
			if len(p.loScale) > 0 && p.loScale[at] != 1 {
				kernel.ScaleInPlace(p.loScale[at], row)
			}
		}
	}
	// P' = P∘Z/(1−p), the weights the forward multiplied V by.
	pd := s
	if p.drop.P > 0 {
		pd = w.pd[:p.tq*ld]
		for r := 0; r < br; r++ {
			row := pd[r*ld : r*ld+bc]
			copy(row, s[r*ld:r*ld+bc])
			dropRow(p.drop, row, rowIndex(d, b, h, i0+r, j0))
		}
	}
	if doDKV {
		switch {
		case p.packed && full:
			// dV_acc += P'ᵀ·dO: A = P' read transposed (whole micro-tiles of
			// keys: columns past bc are never-read padding), depth br.
			tl.Run(mtk, p.dv/nr, br, 1, pd, ld, 1, p.dout.data[dooff:], p.dout.st, nr, 1, w.dvAcc, p.dv)
		case p.packed:
			keyGroups(p.dv, 1, pd, p.dout.data[dooff:], p.dout.st, w.dvAcc)
		default:
			dvoff := p.dvv.off + b*p.dvv.sb + kh*p.dvv.sh + j0*p.dvv.st
			kernel.GemmSerial(true, false, bc, p.dv, br, 1, pd, ld, p.dout.data[dooff:], p.dout.st, 1, p.dvv.data[dvoff:], p.dvv.st)
		}
	}
	// dP' = dO·Vᵀ, then dS = P∘(dP'∘Z/(1−p) − D) in place of P. Where P is
	// 0 (masked) dS is set to 0, not computed, so a NaN in a masked value
	// row cannot leak in.
	switch {
	case p.packed && full:
		tl.Run(mt, ntk, p.dv, 1, doa, 1, doRow, w.vp, nr, p.dv*nr, 0, dp, ld)
	case p.packed:
		rowGroups(p.dv, 1, doa, doRow, w.vp, dp)
	default:
		kernel.GemmSerial(false, true, br, bc, p.dv, 1, p.dout.data[dooff:], p.dout.st, p.v.data[voff:], p.v.st, 0, dp, ld)
	}
	keep := float32(1 / (1 - p.drop.P))
	for r := 0; r < br; r++ {
		D := p.delta[bh*d.T+i0+r]
		prow, dprow := s[r*ld:r*ld+bc], dp[r*ld:r*ld+bc]
		if p.drop.P > 0 {
			pdrow := pd[r*ld : r*ld+bc]
			for j, pj := range prow {
				if pj == 0 {
					continue
				}
				g := float32(0)
				if pdrow[j] != 0 {
					g = dprow[j] * keep
				}
				prow[j] = pj * (g - D)
			}
			continue
		}
		kernel.SoftmaxGrad(prow, dprow, D)
	}
	if doDKV {
		switch {
		case p.packed && full:
			// dK_acc += scale·dSᵀ·Q, dS read transposed.
			tl.Run(mtk, p.dh/nr, br, p.scale, s, ld, 1, p.q.data[qoff:], p.q.st, nr, 1, w.dkAcc, p.dh)
		case p.packed:
			keyGroups(p.dh, p.scale, s, p.q.data[qoff:], p.q.st, w.dkAcc)
		default:
			dkoff := p.dk.off + b*p.dk.sb + kh*p.dk.sh + j0*p.dk.st
			kernel.GemmSerial(true, false, bc, p.dh, br, p.scale, s, ld, p.q.data[qoff:], p.q.st, 1, p.dk.data[dkoff:], p.dk.st)
		}
	}
	if doDQ {
		dqoff := p.dq.off + b*p.dq.sb + h*p.dq.sh + i0*p.dq.st
		kq := koff + (q0-j0)*p.k.st
		ds := s[q0-j0:]
		if !p.packed {
			kernel.GemmSerial(false, false, br, p.dh, qc, p.scale, ds, ld, p.k.data[kq:], p.k.st, 1, p.dq.data[dqoff:], p.dq.st)
			return
		}
		// dQ += scale·dS·K over keys [q0, q0+qc), K read in place; on a
		// boundary tile each query group over its open keys only.
		dq, ldq, beta := p.dq.data[dqoff:], p.dq.st, float32(1)
		if br%mr != 0 {
			// A partial query tile: whole micro-tiles into scratch, then
			// the br real rows.
			dq, ldq, beta = w.dqTmp[:mt*mr*p.dh], p.dh, 0
		}
		if full {
			tl.Run(mt, p.dh/nr, qc, p.scale, ds, 1, ld, p.k.data[kq:], p.k.st, nr, beta, dq, ldq)
		} else {
			for g := 0; g < mt; g++ {
				c0, c1 := max(w.glo[g], q0-j0), min(w.ghi[g], q0-j0+qc)
				rows := dq[g*mr*ldq:]
				if c0 >= c1 {
					if beta == 0 {
						clear(rows[:mr*ldq])
					}
					continue
				}
				tl.Run(1, p.dh/nr, c1-c0, p.scale, s[g*mr*ld+c0:], 1, ld, p.k.data[koff+c0*p.k.st:], p.k.st, nr, beta, rows, ldq)
			}
		}
		if br%mr == 0 {
			return
		}
		tmp := dq
		for r := 0; r < br; r++ {
			kernel.Axpy(1, tmp[r*p.dh:(r+1)*p.dh], p.dq.data[dqoff+r*p.dq.st:][:p.dh])
		}
	}
}

// padRows copies rows [0, n) of src (row stride ld, width wd) into dst as
// a [rows, wd] matrix whose rows past n are zero, and returns it.
func padRows(dst, src []float32, ld, n, rows, wd int) []float32 {
	dst = dst[:rows*wd]
	for r := 0; r < n; r++ {
		copy(dst[r*wd:(r+1)*wd], src[r*ld:][:wd])
	}
	clear(dst[n*wd:])
	return dst
}
