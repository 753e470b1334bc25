package main

import (
	"github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// genPackTrans writes
//
//	packTransAVX2(dst, src *float32, ld, kc, nr, ds int)
//
// the transposing pack of a B panel in the Bᵀ (NT) form, and of any panel
// whose rows must become columns (an A panel of a row-major A): for c < nr
// (a multiple of 8) and p < kc (a multiple of 8),
//
//	dst[p*ds + c] = src[c*ld + p]
//
// ds is nr for a B panel and MR for an A panel.
// It reads 8 rows × 8 columns at a time and transposes them in registers
// (unpack, shuffle, 128-bit permute: the classic 8×8 AVX transpose). It uses
// only AVX/AVX2 (VEX) instructions, so the AVX-512 path uses it too.
func genPackTrans(g *build.Context) {
	name := "packTransAVX2"
	leaf(g, name, "func(dst, src *float32, ld, kc, nr, ds int)")
	g.Doc(name + " sets dst[p*ds+c] = src[c*ld+p] for c < nr, p < kc; nr and kc must be multiples of 8.")
	dst0 := g.Load(g.Param("dst"), g.GP64())
	src0 := g.Load(g.Param("src"), g.GP64())
	ld := g.Load(g.Param("ld"), g.GP64())
	g.SHLQ(U8(2), ld)
	ld3 := g.GP64()
	g.LEAQ(Mem{Base: ld, Index: ld, Scale: 2}, ld3)
	kc := g.Load(g.Param("kc"), g.GP64())
	nr := g.Load(g.Param("nr"), g.GP64())
	dstride := g.Load(g.Param("ds"), g.GP64()) // bytes between dst rows p and p+1
	g.SHLQ(U8(2), dstride)
	groups := g.GP64()
	g.MOVQ(nr, groups)
	g.SHRQ(U8(3), groups)
	g.SHRQ(U8(3), kc) // blocks of 8 p
	g.JZ(LabelRef(name + "_done"))

	g.Label(name + "_group")
	// Rows 8g..8g+7 start at src0; their columns go to dst0 (+8g floats).
	s0, s4, d, n := g.GP64(), g.GP64(), g.GP64(), g.GP64()
	g.MOVQ(src0, s0)
	g.LEAQ(Mem{Base: src0, Index: ld, Scale: 4}, s4)
	g.MOVQ(dst0, d)
	g.MOVQ(kc, n)
	g.Label(name + "_block")
	rows := make([]reg.VecVirtual, 8)
	addrs := []Mem{
		{Base: s0}, {Base: s0, Index: ld, Scale: 1}, {Base: s0, Index: ld, Scale: 2}, {Base: s0, Index: ld3, Scale: 1},
		{Base: s4}, {Base: s4, Index: ld, Scale: 1}, {Base: s4, Index: ld, Scale: 2}, {Base: s4, Index: ld3, Scale: 1},
	}
	for i := range rows {
		rows[i] = g.YMM()
		g.VMOVUPS(addrs[i], rows[i])
	}
	t := make([]reg.VecVirtual, 8)
	for i := 0; i < 4; i++ {
		t[2*i], t[2*i+1] = g.YMM(), g.YMM()
		g.VUNPCKLPS(rows[2*i+1], rows[2*i], t[2*i])   // r(2i)_0 r(2i+1)_0 r(2i)_1 r(2i+1)_1 | _4 _5
		g.VUNPCKHPS(rows[2*i+1], rows[2*i], t[2*i+1]) // _2 _3 | _6 _7
	}
	u := make([]reg.VecVirtual, 8)
	for h := 0; h < 2; h++ { // rows 0-3, rows 4-7
		a, b, c, e := t[4*h], t[4*h+2], t[4*h+1], t[4*h+3]
		for i := 0; i < 4; i++ {
			u[4*h+i] = g.YMM()
		}
		g.VSHUFPS(U8(0x44), b, a, u[4*h+0]) // column 0 (and 4)
		g.VSHUFPS(U8(0xEE), b, a, u[4*h+1]) // column 1 (and 5)
		g.VSHUFPS(U8(0x44), e, c, u[4*h+2]) // column 2 (and 6)
		g.VSHUFPS(U8(0xEE), e, c, u[4*h+3]) // column 3 (and 7)
	}
	o := g.YMM()
	for i := 0; i < 4; i++ {
		g.VPERM2F128(U8(0x20), u[4+i], u[i], o)
		g.VMOVUPS(o, Mem{Base: d})
		g.ADDQ(dstride, d)
	}
	// d now points at p+4: columns 4-7 are the high halves.
	for i := 0; i < 4; i++ {
		g.VPERM2F128(U8(0x31), u[4+i], u[i], o)
		g.VMOVUPS(o, Mem{Base: d})
		g.ADDQ(dstride, d)
	}
	g.ADDQ(U8(32), s0)
	g.ADDQ(U8(32), s4)
	g.DECQ(n)
	g.JNZ(LabelRef(name + "_block"))

	// Next group of 8 rows: src0 += 8 rows, dst0 += 8 floats.
	g.LEAQ(Mem{Base: src0, Index: ld, Scale: 8}, src0)
	g.ADDQ(U8(32), dst0)
	g.DECQ(groups)
	g.JNZ(LabelRef(name + "_group"))
	g.Label(name + "_done")
	g.VZEROUPPER()
	g.RET()
}

// genPackCopy writes
//
//	packCopyAVX2(dst, src *float32, ld, kc, nr int)
//
// the B panel pack of the non-transposed form: for p < kc and c < nr (a
// multiple of 8), dst[p*nr + c] = src[p*ld + c]. In Go,
//
//	for p := 0; p < kc; p++ {
//		copy(dst[p*nr:p*nr+nr], src[p*ld:p*ld+nr])
//	}
//
// as one loop without calls, so that the (often cache-missing) loads of
// successive rows overlap, instead of one memmove call per 64-byte row.
func genPackCopy(g *build.Context) {
	name := "packCopyAVX2"
	leaf(g, name, "func(dst, src *float32, ld, kc, nr int)")
	g.Doc(name + " sets dst[p*nr+c] = src[p*ld+c] for p < kc, c < nr; nr must be a multiple of 8.")
	d := g.Load(g.Param("dst"), g.GP64())
	s := g.Load(g.Param("src"), g.GP64())
	ld := g.Load(g.Param("ld"), g.GP64())
	g.SHLQ(U8(2), ld)
	kc := g.Load(g.Param("kc"), g.GP64())
	nr := g.Load(g.Param("nr"), g.GP64())
	g.SHLQ(U8(2), nr) // bytes per dst row
	g.TESTQ(kc, kc)
	g.JZ(LabelRef(name + "_done"))
	g.Label(name + "_row")
	i := g.GP64()
	g.XORQ(i, i)
	g.Label(name + "_vec")
	v := g.YMM()
	g.VMOVUPS(Mem{Base: s, Index: i, Scale: 1}, v)
	g.VMOVUPS(v, Mem{Base: d, Index: i, Scale: 1})
	g.ADDQ(U8(32), i)
	g.CMPQ(i, nr)
	g.JB(LabelRef(name + "_vec"))
	g.ADDQ(ld, s)
	g.ADDQ(nr, d)
	g.DECQ(kc)
	g.JNZ(LabelRef(name + "_row"))
	g.Label(name + "_done")
	g.VZEROUPPER()
	g.RET()
}
