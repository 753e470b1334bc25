package attention

// Fused backward (FlashAttention-2's). See docs/flash-backward.md.
//
// Shape legend: B batch, H query heads, Hkv key/value heads (a group of
// H/Hkv query heads shares one), T queries, S keys, Dh query/key head dim,
// Dv value head dim; dO = dout [B,H,T,Dv], the gradients dQ, dK, dV shaped
// like Q, K, V, lse [B,H,T] from the forward, and D [B,H,T] with
// D_i = dO_i·O_i. Tiles are tq query rows (bwdTileQ rounded up to whole
// micro-tiles) by bwdTileK keys; MR×NR the micro-kernel's tile
// (kernel.Tiles).
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

import (
	"math"

	"github.com/attn-go/attn/internal/parallel"
	"github.com/attn-go/attn/kernel"
)

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
	// packed path (see the file comment)
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
		// to whole vectors of the widest exp kernel from the row's start
		// (the widening is masked, so weight 0), so that every column takes
		// the same exp, vector kernel or scalar tail, as over the whole row.
		c0, c1 := min(max(w.lo[r]-j0, 0), bc), min(max(w.hi[r]-j0, 0), bc)
		if c0 < c1 {
			const al = kernel.ExpShiftAlign
			c0, c1 = c0&^(al-1), min((c1+al-1)&^(al-1), bc)
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
