package kernel

import "fmt"

// Tiles gives fused kernels (the attention forward) the Gemm micro-kernel
// itself, without Gemm's blocking, packing and edge handling: the caller
// lays out its operands once in the micro-kernel's layouts and then runs
// whole MR×NR micro-tiles.
//
// A Tiles value is bound to the micro-kernel of the Gemm variant current
// when it was made (the pure-Go one when that variant is "ref"), so panels
// packed with it always match the kernel that reads them.
type Tiles struct{ s *gemmSpec }

// CurrentTiles returns the micro-kernel of the current Gemm variant.
func CurrentTiles() Tiles {
	if s := gemmCurrent.Load().spec; s != nil {
		return Tiles{s}
	}
	return Tiles{specGo}
}

// MR is the number of C rows one micro-tile covers.
func (t Tiles) MR() int { return t.s.mr }

// NR is the number of C columns one micro-tile covers: the width of a
// packed B panel.
func (t Tiles) NR() int { return t.s.nr }

// PackedLen is the length PackTrans needs for n columns of depth k: whole
// NR-wide panels.
func (t Tiles) PackedLen(n, k int) int { return (n + t.s.nr - 1) / t.s.nr * t.s.nr * k }

// PackTrans packs B = srcᵀ, where src is row-major [n,k] (leading dimension
// ld; e.g. n keys of head dimension k), into NR-wide panels: element (p, j)
// of B, that is src[j*ld+p], goes to dst[(j/NR)·k·NR + p·NR + j%NR]. The
// columns of the last panel past n are zero. dst must hold PackedLen(n, k).
//
// Shapes: src [n,k] (ld), dst [⌈n/NR⌉, k, NR].
func (t Tiles) PackTrans(dst, src []float32, ld, n, k int) {
	nr := t.s.nr
	if n <= 0 || k <= 0 {
		return
	}
	checkMat("src", src, [2]int{n, k}, ld)
	if need := t.PackedLen(n, k); len(dst) < need {
		panic(fmt.Sprintf("kernel: PackTrans dst has %d elements, needs %d", len(dst), need))
	}
	for j0 := 0; j0 < n; j0 += nr {
		cols := min(nr, n-j0)
		d := dst[j0*k : j0*k+k*nr]
		s := src[j0*ld:]
		switch {
		case cols == nr && packTrans(d, s, ld, k, nr): // AVX2 8×8 transposes
			continue
		case cols == 16 && nr == 16:
			interleave16(d, s, ld, k)
			continue
		}
		for p := 0; p < k; p++ {
			dp := d[p*nr : p*nr+nr]
			for c := 0; c < cols; c++ {
				dp[c] = s[c*ld+p]
			}
			clear(dp[cols:])
		}
	}
}

// Run computes mt×nt whole micro-tiles of C = alpha·A·B + beta·C (C not
// read when beta is 0): C rows [0, mt·MR), columns [0, nt·NR), with
//
//	A(i, p) = a[p*aStep + i*aRow]                          (i < mt·MR, p < k)
//	B(p, j) = b[(j/NR)*bPanel + p*bStep + j%NR]            (j < nt·NR)
//	C(i, j) = c[i*ldc + j]
//
// so A may be row-major (aStep 1, aRow lda) or packed, and B either
// PackTrans panels (bStep NR, bPanel k·NR) or a row-major matrix read in
// place (bStep ldb, bPanel NR). Strides are non-negative and every element
// in these ranges must exist: callers pad their operands to whole tiles.
// Runs on the calling goroutine.
//
// Shapes: A [mt·MR, k], B [k, nt·NR], C [mt·MR, nt·NR].
func (t Tiles) Run(mt, nt, k int, alpha float32, a []float32, aStep, aRow int, b []float32, bStep, bPanel int, beta float32, c []float32, ldc int) {
	s := t.s
	mr, nr := s.mr, s.nr
	if mt <= 0 || nt <= 0 {
		return
	}
	if k <= 0 || aStep < 0 || aRow < 0 || bStep < 0 || bPanel < 0 || ldc < nt*nr {
		panic(fmt.Sprintf("kernel: Tiles.Run with depth %d, strides aStep %d aRow %d bStep %d bPanel %d ldc %d", k, aStep, aRow, bStep, bPanel, ldc))
	}
	// The extreme elements: Go's bounds checks guard the assembly.
	_ = a[(k-1)*aStep+(mt*mr-1)*aRow]
	_ = b[(nt-1)*bPanel+(k-1)*bStep+nr-1]
	_ = c[(mt*mr-1)*ldc+nt*nr-1]
	if s.id == kernGo {
		for tj := 0; tj < nt; tj++ {
			bp := b[tj*bPanel:]
			for ti := 0; ti < mt; ti++ {
				s.micro(k, a[ti*mr*aRow:], aStep, aRow, bp, bStep, c[ti*mr*ldc+tj*nr:], ldc, alpha, beta)
			}
		}
		return
	}
	// Straight to the assembly: every tile lies within the extremes
	// checked above.
	for tj := 0; tj < nt; tj++ {
		bp := &b[tj*bPanel]
		for ti := 0; ti < mt; ti++ {
			microAsm(s.id, k, &a[ti*mr*aRow], aStep, aRow, bp, bStep, &c[ti*mr*ldc+tj*nr], ldc, alpha, beta)
		}
	}
}
