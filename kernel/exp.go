package kernel

import "math"

// Constants of the polynomial exp shared by expShiftGo and the assembly
// (kernel/_asm/vec.go holds the same numbers; TestExpConstants compares the
// generated data with these).
const (
	expLo    = -110 // clamp: exp(-110) rounds to 0, so -Inf and all x below about -103.97 give 0
	expHi    = 89   // clamp: exp(89) overflows float32 and gives +Inf
	expLog2e = 1.44269504088896341
	expMagic = 12582912 // 1.5·2^23: v·log2e + magic rounds to an integer n
	expLn2Hi = 0.693359375
	expLn2Lo = -2.12194440e-4 // ln2 = expLn2Hi + expLn2Lo; expLn2Hi has 9 bits, so n·expLn2Hi is exact
	expP0    = 1.9875691500e-4
	expP1    = 1.3981999507e-3
	expP2    = 8.3334519073e-3
	expP3    = 4.1665795894e-2
	expP4    = 1.6666665459e-1
	expP5    = 5.0000001201e-1
)

// expShiftGo is the pure-Go twin of ExpShift: x[i] = exp(x[i]-shift), and
// the sum of the results (in index order).
//
// Algorithm (the assembly does the same steps, eight or sixteen lanes at a
// time, with fused multiply-adds):
//
//	v  = clamp(x - shift, -110, 89)
//	n  = round(v·log2e)                        (adding 1.5·2^23 rounds to nearest)
//	r  = v - n·ln2hi - n·ln2lo,  |r| ≤ ln2/2    (Cody–Waite, Cephes' split of ln2)
//	y  = 1 + r + r²·P(r)                        (P of degree 5: the coefficients of Cephes expf,
//	                                             in Estrin's form ((p0·r+p1)·r² + (p2·r+p3))·r² + (p4·r+p5))
//	x  = y · 2^(n>>1) · 2^(n-(n>>1))            (two exact power-of-two scalings)
//
// Splitting 2^n into two factors keeps both normal for every n in
// [-159, 128], so results below the smallest normal float32 (x-shift below
// about -87.34) underflow gradually and are correctly rounded from y (no
// flush to zero), x-shift below about -103.97 and -Inf give exactly 0, and
// x-shift above about 88.72 gives +Inf.
//
// Accuracy against float64 math.Exp, over every float32 x-shift in [-104, 0]
// whose exp is a normal float32 (ATTN_EXP_FULL=1 go test -run
// TestExpShiftError ./kernel/, about 1.1·10^9 inputs): max error 1.028 ulp
// for the AVX2 assembly and 0.999 ulp for this Go twin (the default test run
// sweeps 4.7·10^6 of them). Results in the subnormal range are within one
// subnormal step (2^-149). The bound asserted is 2 ulp; docs/gemm.md has the
// numbers. NaN inputs give unspecified results.
func expShiftGo(x []float32, shift float32) float32 {
	var sum float32
	for i, v := range x {
		e := expGo(v - shift)
		x[i] = e
		sum += e
	}
	return sum
}

// expGo is one lane of the polynomial exp.
func expGo(v float32) float32 {
	v = min(max(v, expLo), expHi)
	t := v*expLog2e + expMagic
	nf := t - expMagic
	r := v - nf*expLn2Hi
	r -= nf * expLn2Lo
	z := r * r
	a := expP0*r + expP1
	b := expP2*r + expP3
	c := expP4*r + expP5
	p := (a*z+b)*z + c
	y := p*z + r + 1
	n := int32(math.Float32bits(t) - math.Float32bits(expMagic))
	n1 := n >> 1
	n2 := n - n1
	y *= math.Float32frombits(uint32(n1+127) << 23)
	y *= math.Float32frombits(uint32(n2+127) << 23)
	return y
}
