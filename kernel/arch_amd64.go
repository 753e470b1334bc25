//go:build amd64 && !purego

package kernel

import "golang.org/x/sys/cpu"

// CPU features, read once. x/sys/cpu reports AVX2/FMA/AVX512F only when the
// OS also saves the wider register state (XGETBV), so these are safe to use.
var (
	haveAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
	haveAVX512 = haveAVX2 && cpu.X86.HasAVX512F
)

// microAsm calls the assembly micro-kernel named by id (kernAVX2 or
// kernAVX512). Direct calls, not function values, so that the kernels'
// //go:noescape holds and callers' operands stay where they are.
func microAsm(id int, k int, a *float32, aStep, aRow int, b *float32, bStep int, c *float32, ldc int, alpha, beta float32) {
	if id == kernAVX512 {
		sgemmKern14x32AVX512(k, a, aStep, aRow, b, bStep, c, ldc, alpha, beta)
		return
	}
	sgemmKern6x16AVX2(k, a, aStep, aRow, b, bStep, c, ldc, alpha, beta)
}

func dotAsm(level int, x, y *float32, n int) float32 {
	if level == levelAVX512 {
		return dotAVX512(x, y, n)
	}
	return dotAVX2(x, y, n)
}

func axpyAsm(level int, alpha float32, x, y *float32, n int) {
	if level == levelAVX512 {
		axpyAVX512(alpha, x, y, n)
		return
	}
	axpyAVX2(alpha, x, y, n)
}

func scaleAsm(level int, alpha float32, x *float32, n int) {
	if level == levelAVX512 {
		scaleAVX512(alpha, x, n)
		return
	}
	scaleAVX2(alpha, x, n)
}

// maxAsm runs the AVX2 kernel at both levels: its NaN check needs a vector
// compare result, which AVX-512 puts in a mask register instead.
func maxAsm(level int, x *float32, n int) float32 { return maxAVX2(x, n) }

// softmaxGradAsm runs the AVX2 kernel at both levels (see maxAsm).
func softmaxGradAsm(p, dp *float32, n int, delta float32) { softmaxGradAVX2(p, dp, n, delta) }

func expShiftAsm(level int, x *float32, n int, shift float32) float32 {
	if level == levelAVX512 {
		return expShiftAVX512(x, n, shift)
	}
	return expShiftAVX2(x, n, shift)
}

// fmaPeakAsm runs n iterations of the peak loop; it returns the FMA lanes
// per iteration.
func fmaPeakAsm(level int, n int) int {
	if level == levelAVX512 {
		fmaPeakAVX512(n)
		return 24 * 16
	}
	fmaPeakAVX2(n)
	return 12 * 8
}

// packTrans sets dst[p*nr+c] = src[c*ld+p] for c < nr, p < kc with the
// AVX2 8×8 transpose, when the CPU has it and nr is a multiple of 8; it
// returns false (doing nothing) otherwise. The tail p ≥ kc&^7 is done here.
func packTrans(dst, src []float32, ld, kc, nr int) bool {
	k8 := kc &^ 7
	if !transRect(dst, nr, src, ld, k8, nr) {
		return false
	}
	transTail(dst, src, ld, k8, kc, 0, nr, nr)
	return true
}

// packRows sets dst[p*mr+r] = src[r*ld+p] for r < mr, p < kc (an A panel
// of a row-major A: mr rows interleaved) with the AVX2 8×8 transpose, when
// the CPU has it; it returns false (doing nothing) otherwise. Rows go in
// groups of 8; when mr is not a multiple of 8 a last group starts at mr−8
// and rewrites a few columns of the one before with the same values (mr =
// 14: rows 0–7, then 6–13). With mr = 6 (the AVX2 kernel) the one group
// reads two rows past the panel (the next tile's): their values land on the
// first two slots of the next p, which that p then overwrites, and after
// the last p on two floats past the panel. So mr = 6 needs src to hold 8
// rows and dst two floats of room (packA passes it only where a later panel
// of the block follows, which it then packs over them); without them it
// returns false.
func packRows(dst, src []float32, ld, kc, mr int) bool {
	k8 := kc &^ 7
	switch {
	case mr == 6:
		if k8 == 0 || len(src) < 7*ld+k8 || len(dst) < (k8-1)*6+8 {
			return false
		}
	case mr < 8:
		return false
	}
	if !transRect(dst, mr, src, ld, k8, 8) {
		return false
	}
	for r0 := 8; r0 < mr; r0 += 8 {
		r := min(r0, mr-8)
		transRect(dst[r:], mr, src[r*ld:], ld, k8, 8)
	}
	transTail(dst, src, ld, k8, kc, 0, mr, mr)
	return true
}

// transRect sets dst[p*ds+c] = src[c*ld+p] for p < kc, c < nr (both
// positive multiples of 8) with the AVX2 8×8 transposes; it returns false
// (doing nothing) when the CPU lacks AVX2 or the sizes do not fit. Every
// transposing pack goes through it, and its index expressions are the
// kernel's extreme reads and writes.
func transRect(dst []float32, ds int, src []float32, ld, kc, nr int) bool {
	if !haveAVX2 || kc%8 != 0 || nr%8 != 0 || kc == 0 || nr == 0 {
		return false
	}
	_ = src[(nr-1)*ld+kc-1]
	_ = dst[(kc-1)*ds+nr-1]
	packTransAVX2(&dst[0], &src[0], ld, kc, nr, ds)
	return true
}

// packCopy sets dst[p*nr+c] = src[p*ld+c] for p < kc, c < nr with AVX
// moves, when the CPU has AVX2 and nr is a multiple of 8; it returns false
// (doing nothing) otherwise.
func packCopy(dst, src []float32, ld, kc, nr int) bool {
	if !haveAVX2 || nr%8 != 0 || kc < 1 {
		return false
	}
	_ = src[(kc-1)*ld+nr-1]
	_ = dst[kc*nr-1]
	packCopyAVX2(&dst[0], &src[0], ld, kc, nr)
	return true
}

// rowsDotAsm sets c[j] = alpha·dot(a[:k], b[j*ldb:][:k]) + beta·c[j] for
// j < 8·nb (AVX2 at both levels: see rowsDot).
func rowsDotAsm(a, b *float32, ldb, k, nb int, c *float32, alpha, beta float32) {
	rowsDotAVX2(a, b, ldb, k, nb, c, alpha, beta)
}

// rowsAxpyAsm sets c[j] = alpha·Σ_p a[p]·b[p*ldb+j] + beta·c[j] for
// j < 8·nv (AVX2 at both levels: see rowsAxpy).
func rowsAxpyAsm(a, b *float32, ldb, k, nv int, c *float32, alpha, beta float32) {
	rowsAxpyAVX2(a, b, ldb, k, nv, c, alpha, beta)
}

// nonFiniteAsm reports whether any x[i], i < n (a multiple of 8), is NaN or
// ±Inf (AVX2 at both levels).
func nonFiniteAsm(x *float32, n int) bool { return nonFiniteAVX2(x, n) }
