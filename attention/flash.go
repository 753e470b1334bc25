package attention

// What the fused forward (flash_forward.go) and backward (flash_backward.go)
// share: a worker's scratch, reused across calls; the masks of a tile's
// query rows, gathered once per tile as open key ranges and per-element
// rows, and applied to each score tile; and the small slice helpers.
//
// Shape legend: B batch, H query heads, T queries, S keys, Dh query/key head
// dim, Dv value head dim; tq query rows and bc keys per tile, br ≤ tq the
// real rows of a partial tile; MR the micro-kernel's rows (kernel.Tiles).

import (
	"math"

	"github.com/attn-go/attn/internal/parallel"
)

// flashWork is one worker's scratch, reused across calls.
type flashWork struct {
	s      []float32 // [tq, tileK] (backward: [tq, ld]) scores, then probabilities
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

var workPool = parallel.NewCache(func() *flashWork { return new(flashWork) })

// grow returns s with length n, reallocated (contents dropped) when its
// capacity is short.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// roundUp rounds n up to a multiple of m.
func roundUp(n, m int) int { return (n + m - 1) / m * m }

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
