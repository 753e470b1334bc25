package main

import (
	"fmt"
	"math"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// Constants of the vector kernels, each replicated 16 times (64 bytes) so a
// ymm or zmm register can use it as a full-width memory operand.
var constNames = []string{"negInf", "expLo", "expHi", "log2e", "magic", "ln2hi", "ln2lo",
	"p0", "p1", "p2", "p3", "p4", "p5", "one", "bias"}

// The exp polynomial: exp(r) ≈ 1 + r + r²·P(r), P(r) = p5 + p4·r + p3·r² + p2·r³ + p1·r⁴ + p0·r⁵
// on |r| ≤ ln2/2, Cephes' expf coefficients, evaluated in Estrin's form
// ((p0·r + p1)·r² + (p2·r + p3))·r² + (p4·r + p5). kernel/exp.go holds the same
// numbers for the pure-Go twin; TestExpShiftConstants checks they agree.
var constBits = map[string]uint32{
	"negInf": math.Float32bits(float32(math.Inf(-1))),
	"expLo":  math.Float32bits(-110), // exp(-110) rounds to 0: -Inf and every x ≤ -104 give 0
	"expHi":  math.Float32bits(89),   // exp(89) overflows float32: +Inf
	"log2e":  math.Float32bits(math.Log2E),
	"magic":  math.Float32bits(12582912),       // 1.5·2^23: adding it rounds to an integer
	"ln2hi":  math.Float32bits(0.693359375),    // Cephes' split of ln2: 9 significant bits,
	"ln2lo":  math.Float32bits(-2.12194440e-4), // so n·ln2hi is exact without FMA too
	"p0":     math.Float32bits(1.9875691500e-4),
	"p1":     math.Float32bits(1.3981999507e-3),
	"p2":     math.Float32bits(8.3334519073e-3),
	"p3":     math.Float32bits(4.1665795894e-2),
	"p4":     math.Float32bits(1.6666665459e-1),
	"p5":     math.Float32bits(5.0000001201e-1),
	"one":    math.Float32bits(1),
	"bias":   127,
}

var constMem = map[string]Mem{}

func genConstants(g *build.Context) {
	for _, name := range constNames {
		m := g.StaticGlobal("kconst_" + name)
		g.DataAttributes(attr.RODATA | attr.NOPTR)
		for i := 0; i < 16; i++ {
			g.AddDatum(4*i, U32(constBits[name]))
		}
		constMem[name] = m
	}
}

// hsum reduces the vector v (a physical register numbered below 16) to a
// float32 sum in lane 0 of v.AsX(), using tmp (also below 16).
// op is VADDPS or VMAXPS; the scalar ops mirror it.
func reduce(g *build.Context, s isa, v, tmp reg.VecPhysical, max bool) {
	op := g.VADDPS
	sop := g.VADDSS
	if max {
		op, sop = g.VMAXPS, g.VMAXSS
	}
	if s.lanes == 16 {
		g.VEXTRACTF64X4(U8(1), v, tmp.AsY())
		op(tmp.AsY(), v.AsY(), v.AsY())
	}
	g.VEXTRACTF128(U8(1), v.AsY(), tmp.AsX())
	op(tmp.AsX(), v.AsX(), v.AsX())
	g.VMOVHLPS(v.AsX(), v.AsX(), tmp.AsX())
	op(tmp.AsX(), v.AsX(), v.AsX())
	g.VMOVSHDUP(v.AsX(), tmp.AsX())
	sop(tmp.AsX(), v.AsX(), v.AsX())
}

// vecLoop emits the common loop shape: n (a multiple of the lane count, in
// elements) is consumed four vectors at a time, then one at a time.
// body(u) emits the work for vector u (0..3) of an iteration at byte offset
// u*bytes from the current pointers; advance adds bytes to every pointer.
func vecLoop(g *build.Context, s isa, name string, n reg.Register, body func(u int), advance func(bytes int)) {
	n4 := g.GP64()
	g.MOVQ(n, n4)
	g.SHRQ(U8(map[int]int{8: 5, 16: 6}[s.lanes]), n4) // n / (4·lanes)
	g.JZ(LabelRef(name + "_one"))
	g.Label(name + "_loop4")
	for u := 0; u < 4; u++ {
		body(u)
	}
	advance(4 * s.bytes())
	g.DECQ(n4)
	g.JNZ(LabelRef(name + "_loop4"))
	g.Label(name + "_one")
	g.SHRQ(U8(map[int]int{8: 3, 16: 4}[s.lanes]), n) // vectors left: (n / lanes) % 4
	g.ANDQ(U8(3), n)
	g.JZ(LabelRef(name + "_done"))
	g.Label(name + "_loop1")
	body(0)
	advance(s.bytes())
	g.DECQ(n)
	g.JNZ(LabelRef(name + "_loop1"))
	g.Label(name + "_done")
}

func genVec(g *build.Context, s isa) {
	genDot(g, s)
	genAxpy(g, s)
	genScale(g, s)
	genMax(g, s)
	genExpShift(g, s)
	genSoftmaxGrad(g, s)
}

// softmaxGrad<ISA>(p, dp *float32, n int, delta float32) sets p[i] =
// p[i]·(dp[i] − delta) where p[i] != 0 and leaves p[i] = 0 otherwise
// (whatever dp[i] is, NaN included), for n a multiple of 8. AVX2 only (the
// AVX-512 level calls it too): the zero test needs a vector compare result,
// which AVX-512 puts in a mask register.
func genSoftmaxGrad(g *build.Context, s isa) {
	if s.lanes != 8 {
		return
	}
	name := "softmaxGrad" + s.name
	leaf(g, name, "func(p, dp *float32, n int, delta float32)")
	g.Doc(name+" sets p[i] = p[i]·(dp[i]−delta) where p[i] != 0, leaving zeros (whatever dp[i] is),",
		"for i < n; n must be a multiple of 8.")
	p := g.Load(g.Param("p"), g.GP64())
	dp := g.Load(g.Param("dp"), g.GP64())
	n := g.Load(g.Param("n"), g.GP64())
	delta, zero := s.phys(0), s.phys(1)
	g.VBROADCASTSS(paramAddr(g, "delta"), delta)
	g.VXORPS(zero, zero, zero)
	pv := []reg.VecPhysical{s.phys(2), s.phys(3), s.phys(4), s.phys(5)}
	tv := []reg.VecPhysical{s.phys(6), s.phys(7), s.phys(8), s.phys(9)}
	mv := []reg.VecPhysical{s.phys(10), s.phys(11), s.phys(12), s.phys(13)}
	vecLoop(g, s, name, n, func(u int) {
		off := u * s.bytes()
		g.VMOVUPS(Mem{Base: p, Disp: off}, pv[u])
		g.VMOVUPS(Mem{Base: dp, Disp: off}, tv[u])
		g.VSUBPS(delta, tv[u], tv[u])
		g.VMULPS(pv[u], tv[u], tv[u])
		g.VCMPPS(U8(4), zero, pv[u], mv[u]) // predicate 4: not equal (unordered: NaN p counts as non-zero)
		g.VANDPS(mv[u], tv[u], tv[u])
		g.VMOVUPS(tv[u], Mem{Base: p, Disp: off})
	}, func(b int) {
		g.ADDQ(U32(b), p)
		g.ADDQ(U32(b), dp)
	})
	g.VZEROUPPER()
	g.RET()
}

// dot<ISA>(x, y *float32, n int) float32 returns Σ x[i]·y[i], i < n, for n a
// multiple of the lane count, in 4 vector accumulators (4·lanes partial sums).
func genDot(g *build.Context, s isa) {
	name := "dot" + s.name
	leaf(g, name, "func(x, y *float32, n int) float32")
	g.Doc(name + " returns Σ x[i]·y[i] for i < n; n must be a multiple of the vector width.")
	x := g.Load(g.Param("x"), g.GP64())
	y := g.Load(g.Param("y"), g.GP64())
	n := g.Load(g.Param("n"), g.GP64())
	acc := []reg.VecPhysical{s.phys(0), s.phys(1), s.phys(2), s.phys(3)}
	t := []reg.VecPhysical{s.phys(4), s.phys(5), s.phys(6), s.phys(7)}
	for _, a := range acc {
		s.zero(g, a)
	}
	vecLoop(g, s, name, n, func(u int) {
		g.VMOVUPS(Mem{Base: x, Disp: u * s.bytes()}, t[u])
		g.VFMADD231PS(Mem{Base: y, Disp: u * s.bytes()}, t[u], acc[u])
	}, func(b int) {
		g.ADDQ(U32(b), x)
		g.ADDQ(U32(b), y)
	})
	fold4(g.VADDPS, acc)
	reduce(g, s, acc[0], t[0], false)
	g.Store(acc[0].AsX(), g.ReturnIndex(0))
	g.VZEROUPPER()
	g.RET()
}

// axpy<ISA>(alpha float32, x, y *float32, n int): y[i] += alpha·x[i] (one FMA).
func genAxpy(g *build.Context, s isa) {
	name := "axpy" + s.name
	leaf(g, name, "func(alpha float32, x, y *float32, n int)")
	g.Doc(name + " computes y[i] = fma(alpha, x[i], y[i]) for i < n; n must be a multiple of the vector width.")
	al := s.phys(8)
	g.VBROADCASTSS(paramAddr(g, "alpha"), al)
	x := g.Load(g.Param("x"), g.GP64())
	y := g.Load(g.Param("y"), g.GP64())
	n := g.Load(g.Param("n"), g.GP64())
	vecLoop(g, s, name, n, func(u int) {
		t := s.phys(u)
		m := Mem{Base: y, Disp: u * s.bytes()}
		g.VMOVUPS(m, t)
		g.VFMADD231PS(Mem{Base: x, Disp: u * s.bytes()}, al, t)
		g.VMOVUPS(t, m)
	}, func(b int) {
		g.ADDQ(U32(b), x)
		g.ADDQ(U32(b), y)
	})
	g.VZEROUPPER()
	g.RET()
}

// scale<ISA>(alpha float32, x *float32, n int): x[i] *= alpha.
func genScale(g *build.Context, s isa) {
	name := "scale" + s.name
	leaf(g, name, "func(alpha float32, x *float32, n int)")
	g.Doc(name + " computes x[i] *= alpha for i < n; n must be a multiple of the vector width.")
	al := s.phys(8)
	g.VBROADCASTSS(paramAddr(g, "alpha"), al)
	x := g.Load(g.Param("x"), g.GP64())
	n := g.Load(g.Param("n"), g.GP64())
	vecLoop(g, s, name, n, func(u int) {
		t := s.phys(u)
		m := Mem{Base: x, Disp: u * s.bytes()}
		g.VMULPS(m, al, t)
		g.VMOVUPS(t, m)
	}, func(b int) {
		g.ADDQ(U32(b), x)
	})
	g.VZEROUPPER()
	g.RET()
}

// max<ISA>(x *float32, n int) float32 returns max(x[i]), i < n, -Inf for
// n == 0, and NaN when any x[i] is NaN: VMAXPS alone drops NaN, so each
// vector is also compared with itself (unordered = NaN) and the compare
// masks are ORed into flag registers; the all-ones mask is itself a NaN bit
// pattern, ORed into the result at the end. Generated for AVX2 only (the
// AVX-512 compare writes a mask register); AVX-512 machines run it too.
func genMax(g *build.Context, s isa) {
	if s.lanes != 8 {
		return
	}
	name := "max" + s.name
	leaf(g, name, "func(x *float32, n int) float32")
	g.Doc(name + " returns the largest x[i] for i < n (-Inf if n is 0, NaN if any x[i] is NaN); n must be a multiple of 8.")
	x := g.Load(g.Param("x"), g.GP64())
	n := g.Load(g.Param("n"), g.GP64())
	acc := []reg.VecPhysical{s.phys(0), s.phys(1), s.phys(2), s.phys(3)}
	tmp := []reg.VecPhysical{s.phys(4), s.phys(5), s.phys(6), s.phys(7)}
	flag := []reg.VecPhysical{s.phys(8), s.phys(9), s.phys(10), s.phys(11)}
	for u := range acc {
		g.VMOVUPS(constMem["negInf"], acc[u])
		g.VXORPS(flag[u], flag[u], flag[u])
	}
	vecLoop(g, s, name, n, func(u int) {
		g.VMOVUPS(Mem{Base: x, Disp: u * s.bytes()}, tmp[u])
		g.VMAXPS(tmp[u], acc[u], acc[u])
		g.VCMPPS(U8(3), tmp[u], tmp[u], tmp[u]) // predicate 3: unordered
		g.VORPS(tmp[u], flag[u], flag[u])
	}, func(b int) {
		g.ADDQ(U32(b), x)
	})
	fold4(g.VMAXPS, acc)
	g.VORPS(flag[1], flag[0], flag[0])
	g.VORPS(flag[3], flag[2], flag[2])
	g.VORPS(flag[2], flag[0], flag[0])
	reduce(g, s, acc[0], s.phys(4), true)
	// Horizontal OR of the flags into lane 0.
	g.VEXTRACTF128(U8(1), flag[0], tmp[0].AsX())
	g.VORPS(tmp[0].AsX(), flag[0].AsX(), flag[0].AsX())
	g.VMOVHLPS(flag[0].AsX(), flag[0].AsX(), tmp[0].AsX())
	g.VORPS(tmp[0].AsX(), flag[0].AsX(), flag[0].AsX())
	g.VMOVSHDUP(flag[0].AsX(), tmp[0].AsX())
	g.VORPS(tmp[0].AsX(), flag[0].AsX(), flag[0].AsX())
	g.VORPS(flag[0].AsX(), acc[0].AsX(), acc[0].AsX())
	g.Store(acc[0].AsX(), g.ReturnIndex(0))
	g.VZEROUPPER()
	g.RET()
}

// expShift<ISA>(x *float32, n int, shift float32) float32 sets
// x[i] = exp(x[i] - shift) and returns the sum of the new x[i]. The
// algorithm, step by step in Go, is expShiftGo in kernel/exp.go:
//
//	v := min(max(x[i]-shift, -110), 89)
//	t := v·log2e + 1.5·2^23          // rounds v·log2e to the integer n
//	nf := t - 1.5·2^23
//	r := v - nf·ln2hi - nf·ln2lo      // |r| ≤ ln2/2, two FMAs
//	y := 1 + (r + r²·P(r))            // degree-5 P: Cephes expf
//	n1 := n >> 1; n2 := n - n1        // 2^n = 2^n1 · 2^n2, both normal
//	x[i] = y · 2^n1 · 2^n2            // exact scaling, gradual underflow
func genExpShift(g *build.Context, s isa) {
	name := "expShift" + s.name
	leaf(g, name, "func(x *float32, n int, shift float32) float32")
	g.Doc(name+" sets x[i] = exp(x[i]-shift) for i < n and returns their sum;",
		"n must be a multiple of the vector width. See expShiftGo for the algorithm.")
	x := g.Load(g.Param("x"), g.GP64())
	n := g.Load(g.Param("n"), g.GP64())
	sh, sum := s.phys(0), s.phys(1)
	g.VBROADCASTSS(paramAddr(g, "shift"), sh)
	s.zero(g, sum)
	c := constMem
	// Each vector's result is a chain of dependent operations about sixty
	// cycles long, and the out-of-order window holds only a few vectors'
	// chains, so the chain's length sets the speed: the polynomial is
	// evaluated in Estrin's form (three independent FMAs, then two in r²:
	// 12 cycles of latency instead of Horner's 20), and several vectors per
	// step have their instructions interleaved: two with AVX2 (16 ymm), four
	// with AVX-512 (32 zmm). Six registers per vector: v (then r), t, nf
	// (then the Estrin term b, then n1), a (then y), z, c (then n2). The sum
	// is accumulated in index order of the vectors.
	//
	// AVX-512 scales by 2^n with one VSCALEFPS (y·2^floor(nf), rounded once,
	// gradual underflow included) instead of the seven integer operations
	// and two multiplies that build 2^n1 and 2^n2: the same result, since
	// y·2^n1 is exact, and a chain nine operations shorter.
	type lane struct{ v, t, nf, a, z, c reg.VecPhysical }
	group := 2
	if s.lanes == 16 {
		group = 4
	}
	ls := make([]lane, group)
	for u := range ls {
		r := func(i int) reg.VecPhysical { return s.phys(2 + 6*u + i) }
		ls[u] = lane{r(0), r(1), r(2), r(3), r(4), r(5)}
	}
	body := func(nv int) {
		each := func(f func(u int, l lane)) {
			for u := 0; u < nv; u++ {
				f(u, ls[u])
			}
		}
		m := func(u int) Mem { return Mem{Base: x, Disp: u * s.bytes()} }
		each(func(u int, l lane) { g.VMOVUPS(m(u), l.v) })
		each(func(u int, l lane) { g.VSUBPS(sh, l.v, l.v) })
		each(func(u int, l lane) { g.VMAXPS(c["expLo"], l.v, l.v) })
		each(func(u int, l lane) { g.VMINPS(c["expHi"], l.v, l.v) })
		each(func(u int, l lane) { g.VMOVUPS(c["magic"], l.t) })
		each(func(u int, l lane) { g.VFMADD231PS(c["log2e"], l.v, l.t) }) // t = v·log2e + magic
		// nf = t - magic; AVX-512 keeps it (in t) for the scaling.
		nf := func(l lane) reg.VecPhysical { return l.nf }
		if s.lanes == 16 {
			nf = func(l lane) reg.VecPhysical { return l.t }
		}
		each(func(u int, l lane) { g.VSUBPS(c["magic"], l.t, nf(l)) })
		each(func(u int, l lane) { g.VFNMADD231PS(c["ln2hi"], nf(l), l.v) })
		each(func(u int, l lane) { g.VFNMADD231PS(c["ln2lo"], nf(l), l.v) }) // v = r
		each(func(u int, l lane) { g.VMULPS(l.v, l.v, l.z) })                // z = r²
		each(func(u int, l lane) { g.VMOVUPS(c["p0"], l.a) })
		each(func(u int, l lane) { g.VMOVUPS(c["p2"], l.nf) })
		each(func(u int, l lane) { g.VMOVUPS(c["p4"], l.c) })
		each(func(u int, l lane) { g.VFMADD213PS(c["p1"], l.v, l.a) })  // a = p0·r + p1
		each(func(u int, l lane) { g.VFMADD213PS(c["p3"], l.v, l.nf) }) // b = p2·r + p3
		each(func(u int, l lane) { g.VFMADD213PS(c["p5"], l.v, l.c) })  // c = p4·r + p5
		each(func(u int, l lane) { g.VFMADD213PS(l.nf, l.z, l.a) })     // a = a·z + b
		each(func(u int, l lane) { g.VFMADD213PS(l.c, l.z, l.a) })      // P = a·z + c
		each(func(u int, l lane) { g.VFMADD213PS(l.v, l.z, l.a) })      // a = P·r² + r
		each(func(u int, l lane) { g.VADDPS(c["one"], l.a, l.a) })      // y = 1 + a
		if s.lanes == 16 {
			each(func(u int, l lane) { g.VSCALEFPS(l.t, l.a, l.a) }) // y·2^nf
		} else {
			each(func(u int, l lane) { g.VPSUBD(c["magic"], l.t, l.t) })  // n = bits(t) - bits(magic)
			each(func(u int, l lane) { g.VPSRAD(U8(1), l.t, l.nf) })      // n1 = n >> 1
			each(func(u int, l lane) { g.VPSUBD(l.nf, l.t, l.c) })        // n2 = n - n1
			each(func(u int, l lane) { g.VPADDD(c["bias"], l.nf, l.nf) }) // biased exponents
			each(func(u int, l lane) { g.VPADDD(c["bias"], l.c, l.c) })
			each(func(u int, l lane) { g.VPSLLD(U8(23), l.nf, l.nf) })
			each(func(u int, l lane) { g.VPSLLD(U8(23), l.c, l.c) })
			each(func(u int, l lane) { g.VMULPS(l.nf, l.a, l.a) })
			each(func(u int, l lane) { g.VMULPS(l.c, l.a, l.a) })
		}
		each(func(u int, l lane) { g.VMOVUPS(l.a, m(u)) })
		each(func(u int, l lane) { g.VADDPS(l.a, sum, sum) })
	}
	g.SHRQ(U8(map[int]int{8: 3, 16: 4}[s.lanes]), n) // vectors
	ng := g.GP64()
	g.MOVQ(n, ng)
	g.SHRQ(U8(map[int]int{2: 1, 4: 2}[group]), ng) // groups
	g.JZ(LabelRef(name + "_rest"))
	g.Label(name + "_loop")
	body(group)
	g.ADDQ(U32(group*s.bytes()), x)
	g.DECQ(ng)
	g.JNZ(LabelRef(name + "_loop"))
	g.Label(name + "_rest")
	g.ANDQ(U8(group-1), n)
	g.JZ(LabelRef(name + "_done"))
	g.Label(name + "_one")
	body(1)
	g.ADDQ(U32(s.bytes()), x)
	g.DECQ(n)
	g.JNZ(LabelRef(name + "_one"))
	g.Label(name + "_done")
	reduce(g, s, sum, s.phys(2), false)
	g.Store(sum.AsX(), g.ReturnIndex(0))
	g.VZEROUPPER()
	g.RET()
}

// genPeak writes fmaPeak<ISA>(n int): n iterations of a block of
// independent FMA chains (12 ymm or 24 zmm accumulators: more than
// latency × FMA ports on current x86 cores, so the FMA units never wait).
// Each iteration performs chains × lanes FMAs.
func genPeak(g *build.Context, s isa) {
	name := "fmaPeak" + s.name
	chains := 12
	if s.lanes == 16 {
		chains = 24
	}
	g.Function(name)
	g.Attributes(attr.NOSPLIT)
	g.SignatureExpr("func(n int)")
	g.Doc(fmt.Sprintf("%s runs n iterations of %d independent %d-lane FMAs.", name, chains, s.lanes))
	n := g.Load(g.Param("n"), g.GP64())
	for i := 0; i < chains+2; i++ {
		s.zero(g, s.phys(i))
	}
	g.TESTQ(n, n)
	g.JZ(LabelRef(name + "_done"))
	g.Label(name + "_loop")
	for i := 0; i < chains; i++ {
		g.VFMADD231PS(s.phys(chains), s.phys(chains+1), s.phys(i))
	}
	g.DECQ(n)
	g.JNZ(LabelRef(name + "_loop"))
	g.Label(name + "_done")
	g.VZEROUPPER()
	g.RET()
}

// genNonFinite writes
//
//	nonFiniteAVX2(x *float32, n int) bool
//
// which reports whether any x[i], i < n (a multiple of 8), is NaN or ±Inf:
// x − x is 0 for a finite x and NaN otherwise, NaN survives the sums of four
// accumulators, and one unordered compare at the end tells. No branch per
// element, so it runs at the speed of the loads. AVX2 only: the AVX-512
// level runs it too.
func genNonFinite(g *build.Context) {
	s := avx2
	name := "nonFinite" + s.name
	leaf(g, name, "func(x *float32, n int) bool")
	g.Doc(name + " reports whether any x[i], i < n, is NaN or ±Inf; n must be a multiple of 8.")
	x := g.Load(g.Param("x"), g.GP64())
	n := g.Load(g.Param("n"), g.GP64())
	acc := []reg.VecPhysical{s.phys(0), s.phys(1), s.phys(2), s.phys(3)}
	tmp := []reg.VecPhysical{s.phys(4), s.phys(5), s.phys(6), s.phys(7)}
	for u := range acc {
		s.zero(g, acc[u])
	}
	vecLoop(g, s, name, n, func(u int) {
		g.VMOVUPS(Mem{Base: x, Disp: u * s.bytes()}, tmp[u])
		g.VSUBPS(tmp[u], tmp[u], tmp[u]) // 0, or NaN
		g.VADDPS(tmp[u], acc[u], acc[u])
	}, func(b int) {
		g.ADDQ(U32(b), x)
	})
	fold4(g.VADDPS, acc)
	g.VCMPPS(U8(3), acc[0], acc[0], acc[0]) // unordered: NaN lanes all ones
	bits := g.GP32()
	g.VMOVMSKPS(acc[0], bits)
	g.TESTL(bits, bits)
	res := g.GP8()
	g.SETNE(res)
	g.Store(res, g.ReturnIndex(0))
	g.VZEROUPPER()
	g.RET()
}
