package nn

// Dropout (Srivastava et al., 2014) with a counter-based mask: whether
// element i is kept is a pure function of (p, seed, offset+i), so the
// backward regenerates the forward's mask instead of storing it. Shapes: x,
// y, dx and dy are flat slices of one length n; element i uses mask index
// offset+i. Training code gives each dropout site and step a distinct
// (seed, offset) range, e.g. one seed per step and disjoint offsets per
// layer.

// golden is 2^64/φ, the increment of splitmix64's Weyl sequence.
const golden = 0x9e3779b97f4a7c15

// splitmix64 is the output function of Steele, Lea and Flood's SplitMix64
// generator applied to x: a bijective 64-bit mixer whose consecutive
// outputs over x, x+golden, x+2·golden... pass BigCrush.
func splitmix64(x uint64) uint64 {
	z := x + golden
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// dropThreshold returns t such that a uniform 64-bit z is dropped when z <
// t, with probability t/2^64 = p; ok is false when p ≤ 0 (keep everything)
// and all is true when p ≥ 1 (drop everything).
func dropThreshold(p float32) (t uint64, ok, all bool) {
	switch {
	case !(p > 0):
		return 0, false, false
	case p >= 1:
		return 0, true, true
	}
	// p < 1 in float32, so p·2^64 ≤ 2^64 − 2^40 fits in a uint64.
	return uint64(float64(p) * 0x1p64), true, false
}

// DropoutKeep reports whether mask element index is kept at drop
// probability p: splitmix64(seed ^ index·golden) ≥ p·2^64. It is true with
// probability 1 − p; always true for p ≤ 0 and always false for p ≥ 1. With
// seed 0 the draws are exactly SplitMix64's sequence.
func DropoutKeep(p float32, seed, index uint64) bool {
	t, ok, all := dropThreshold(p)
	return keep(t, ok, all, seed, index)
}

func keep(t uint64, ok, all bool, seed, index uint64) bool {
	if !ok {
		return true
	}
	if all {
		return false
	}
	return splitmix64(seed^(index*golden)) >= t
}

// dropScale is 1/(1 − p), the factor that keeps the expectation unchanged.
func dropScale(p float32) float32 { return float32(1 / (1 - float64(p))) }

// DropoutForward sets y[i] = x[i]·keep_i/(1 − p) with keep_i =
// DropoutKeep(p, seed, offset+i). y may be x; p ≤ 0 copies x (a no-op when
// y is x) and p ≥ 1 zeroes y. p must not be NaN.
func DropoutForward(y, x []float32, p float32, seed, offset uint64) {
	n := len(x)
	if n == 0 {
		return
	}
	_ = y[n-1]
	t, ok, all := dropThreshold(p)
	switch {
	case !ok:
		copy(y[:n], x)
		return
	case all:
		clear(y[:n])
		return
	}
	scale := dropScale(p)
	forRows(n, 1, func(i0, i1 int) {
		for i := i0; i < i1; i++ {
			if keep(t, ok, all, seed, offset+uint64(i)) {
				y[i] = x[i] * scale
			} else {
				y[i] = 0
			}
		}
	})
}

// DropoutBackward adds dy[i]·keep_i/(1 − p) into dx[i], with the mask of the
// DropoutForward call that had the same p, seed and offset. dx must not
// overlap dy.
func DropoutBackward(dx, dy []float32, p float32, seed, offset uint64) {
	n := len(dy)
	if n == 0 {
		return
	}
	_ = dx[n-1]
	t, ok, all := dropThreshold(p)
	switch {
	case !ok:
		for i, v := range dy {
			dx[i] += v
		}
		return
	case all:
		return
	}
	scale := dropScale(p)
	forRows(n, 1, func(i0, i1 int) {
		for i := i0; i < i1; i++ {
			if keep(t, ok, all, seed, offset+uint64(i)) {
				dx[i] = float32(float64(dx[i]) + float64(dy[i])*float64(scale))
			}
		}
	})
}
