package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The small-m GEMM kernels (one row of A; GemmSerial/Gemm with m < mr, e.g.
// decoding attention: one query against a long K/V cache). AVX2 only: the
// AVX-512 variant runs them too.

// tailMask is 8 all-ones words then 8 zero words: the 8 words starting at
// word 8-r have their first r lanes set, a VMASKMOVPS mask for a k tail of r.
var tailMask Mem

func genTailMask(g *build.Context) {
	tailMask = g.StaticGlobal("kmask_tail")
	g.DataAttributes(attr.RODATA | attr.NOPTR)
	for i := 0; i < 16; i++ {
		v := uint32(0)
		if i < 8 {
			v = 0xffffffff
		}
		g.AddDatum(4*i, U32(v))
	}
}

// genRowsDot writes
//
//	rowsDotAVX2(a, b *float32, ldb, k, nb int, c *float32, alpha, beta float32)
//
// which computes, for j < 8·nb,
//
//	c[j] = alpha·Σ_{p<k} a[p]·b[j*ldb+p] + beta·c[j]     (c not read when beta == ±0)
//
// (one row of C = alpha·A·Bᵀ + beta·C). Eight rows of B are processed at
// once into eight accumulators (one vector load of a, eight FMAs with B
// memory operands per 8 k-steps); a k tail of 1-7 is read with masked loads,
// so nothing past a[k-1] or a B row's k-th element is touched. The eight
// accumulators are then reduced together (VHADDPS tree and one cross-lane
// add), which gives the eight results in one vector: the horizontal-sum cost
// is shared by eight dots.
func genRowsDot(g *build.Context) {
	s := avx2
	name := "rowsDot" + s.name
	leaf(g, name, "func(a, b *float32, ldb, k, nb int, c *float32, alpha, beta float32)")
	g.Doc(name+" sets c[j] = alpha·Σ_{p<k} a[p]·b[j*ldb+p] + beta·c[j] for j < 8·nb",
		"(c not read when beta is ±0); see genRowsDot.")

	acc := func(r int) reg.VecPhysical { return s.phys(r) }
	av, tmp, mask, alpha, beta := s.phys(8), s.phys(9), s.phys(10), s.phys(11), s.phys(12)

	pa := g.Load(g.Param("a"), g.GP64())
	pb := g.Load(g.Param("b"), g.GP64())
	ldb := g.Load(g.Param("ldb"), g.GP64())
	g.SHLQ(U8(2), ldb)
	ldb3 := g.GP64()
	g.LEAQ(Mem{Base: ldb, Index: ldb, Scale: 2}, ldb3)
	ldb8 := g.GP64()
	g.MOVQ(ldb, ldb8)
	g.SHLQ(U8(3), ldb8)
	k := g.Load(g.Param("k"), g.GP64())
	k8 := g.GP64()
	g.MOVQ(k, k8)
	g.SHRQ(U8(3), k8)
	kt := g.GP64()
	g.MOVQ(k, kt)
	g.ANDQ(U8(7), kt)
	// mask = tailMask[8-kt : 16-kt]
	{
		mb := g.GP64()
		g.LEAQ(tailMask, mb)
		idx := g.GP64()
		g.MOVQ(U32(8), idx)
		g.SUBQ(kt, idx)
		g.VMOVUPS(Mem{Base: mb, Index: idx, Scale: 4}, mask)
	}
	nb := g.Load(g.Param("nb"), g.GP64())
	pc := g.Load(g.Param("c"), g.GP64())
	g.VBROADCASTSS(paramAddr(g, "alpha"), alpha)
	g.VBROADCASTSS(paramAddr(g, "beta"), beta)
	betaBits := g.GP32()
	g.MOVL(paramAddr(g, "beta"), betaBits)
	g.ANDL(U32(0x7fffffff), betaBits)

	q0, q1, qa, cnt := g.GP64(), g.GP64(), g.GP64(), g.GP64()
	rowAddr := func(r int) Mem {
		base := q0
		if r >= 4 {
			base = q1
		}
		switch r % 4 {
		case 0:
			return Mem{Base: base}
		case 1:
			return Mem{Base: base, Index: ldb, Scale: 1}
		case 2:
			return Mem{Base: base, Index: ldb, Scale: 2}
		default:
			return Mem{Base: base, Index: ldb3, Scale: 1}
		}
	}

	g.TESTQ(nb, nb)
	g.JZ(LabelRef(name + "_done"))
	g.Label(name + "_block")
	g.MOVQ(pb, q0)
	g.LEAQ(Mem{Base: pb, Index: ldb, Scale: 4}, q1)
	g.MOVQ(pa, qa)
	for r := 0; r < 8; r++ {
		s.zero(g, acc(r))
	}
	g.MOVQ(k8, cnt)
	g.TESTQ(cnt, cnt)
	g.JZ(LabelRef(name + "_tail"))
	g.Label(name + "_loop")
	g.VMOVUPS(Mem{Base: qa}, av)
	for r := 0; r < 8; r++ {
		g.VFMADD231PS(rowAddr(r), av, acc(r))
	}
	g.ADDQ(U8(32), qa)
	g.ADDQ(U8(32), q0)
	g.ADDQ(U8(32), q1)
	g.DECQ(cnt)
	g.JNZ(LabelRef(name + "_loop"))

	g.Label(name + "_tail")
	g.TESTQ(kt, kt)
	g.JZ(LabelRef(name + "_reduce"))
	g.VMASKMOVPS(Mem{Base: qa}, mask, av)
	for r := 0; r < 8; r++ {
		g.VMASKMOVPS(rowAddr(r), mask, tmp)
		g.VFMADD231PS(tmp, av, acc(r))
	}

	// Reduce: acc0 = [Σ0 Σ1 Σ2 Σ3 | …] per 128-bit half, acc4 likewise for
	// rows 4-7, then add the halves.
	g.Label(name + "_reduce")
	g.VHADDPS(acc(1), acc(0), acc(0))
	g.VHADDPS(acc(3), acc(2), acc(2))
	g.VHADDPS(acc(2), acc(0), acc(0))
	g.VHADDPS(acc(5), acc(4), acc(4))
	g.VHADDPS(acc(7), acc(6), acc(6))
	g.VHADDPS(acc(6), acc(4), acc(4))
	g.VPERM2F128(U8(0x20), acc(4), acc(0), acc(1))
	g.VPERM2F128(U8(0x31), acc(4), acc(0), acc(2))
	g.VADDPS(acc(2), acc(1), acc(1))
	g.VMULPS(alpha, acc(1), acc(1))
	g.TESTL(betaBits, betaBits)
	g.JZ(LabelRef(name + "_store"))
	g.VFMADD231PS(Mem{Base: pc}, beta, acc(1))
	g.Label(name + "_store")
	g.VMOVUPS(acc(1), Mem{Base: pc})
	g.ADDQ(U8(32), pc)
	g.ADDQ(ldb8, pb)
	g.DECQ(nb)
	g.JNZ(LabelRef(name + "_block"))
	g.Label(name + "_done")
	g.VZEROUPPER()
	g.RET()
}

// genRowsAxpy writes
//
//	rowsAxpyAVX2(a, b *float32, ldb, k, nv int, c *float32, alpha, beta float32)
//
// which computes, for j < 8·nv,
//
//	c[j] = alpha·Σ_{p<k} a[p]·b[p*ldb+j] + beta·c[j]     (c not read when beta == ±0)
//
// (one row of C = alpha·A·B + beta·C). Columns go in blocks of 64 (8 ymm
// accumulators kept in registers over the whole p loop: per p one broadcast of
// a[p] and eight FMAs with B memory operands, each B element loaded once and
// C read and written once), then one block of the remaining 1-7 vectors. The
// p loop of the narrow blocks is unrolled by two into two accumulator sets so
// that the FMA latency is still covered.
func genRowsAxpy(g *build.Context) {
	s := avx2
	name := "rowsAxpy" + s.name
	leaf(g, name, "func(a, b *float32, ldb, k, nv int, c *float32, alpha, beta float32)")
	g.Doc(name+" sets c[j] = alpha·Σ_{p<k} a[p]·b[p*ldb+j] + beta·c[j] for j < 8·nv",
		"(c not read when beta is ±0); see genRowsAxpy.")

	acc := func(v int) reg.VecPhysical { return s.phys(v) }
	bc, alpha, beta := s.phys(13), s.phys(14), s.phys(15)
	bc2 := s.phys(12)

	pa := g.Load(g.Param("a"), g.GP64())
	pb := g.Load(g.Param("b"), g.GP64())
	ldb := g.Load(g.Param("ldb"), g.GP64())
	g.SHLQ(U8(2), ldb)
	k := g.Load(g.Param("k"), g.GP64())
	nv := g.Load(g.Param("nv"), g.GP64())
	pc := g.Load(g.Param("c"), g.GP64())
	g.VBROADCASTSS(paramAddr(g, "alpha"), alpha)
	g.VBROADCASTSS(paramAddr(g, "beta"), beta)
	betaBits := g.GP32()
	g.MOVL(paramAddr(g, "beta"), betaBits)
	g.ANDL(U32(0x7fffffff), betaBits)
	qa, qb, cnt := g.GP64(), g.GP64(), g.GP64()

	// store writes c[0:8w] = alpha·acc(0..w-1) (+ beta·c) and advances pc, pb.
	store := func(lbl string, w int) {
		g.TESTL(betaBits, betaBits)
		g.JZ(LabelRef(lbl + "_beta0"))
		for v := 0; v < w; v++ {
			m := Mem{Base: pc, Disp: 32 * v}
			g.VMULPS(m, beta, bc)
			g.VFMADD231PS(acc(v), alpha, bc)
			g.VMOVUPS(bc, m)
		}
		g.JMP(LabelRef(lbl + "_next"))
		g.Label(lbl + "_beta0")
		for v := 0; v < w; v++ {
			g.VMULPS(acc(v), alpha, acc(v))
			g.VMOVUPS(acc(v), Mem{Base: pc, Disp: 32 * v})
		}
		g.Label(lbl + "_next")
		g.ADDQ(U32(32*w), pc)
		g.ADDQ(U32(32*w), pb)
	}

	// block emits the p loop for a w-vector column block.
	block := func(w int) {
		lbl := fmt.Sprintf("%s_w%d", name, w)
		g.MOVQ(pa, qa)
		g.MOVQ(pb, qb)
		g.MOVQ(k, cnt)
		two := w <= 4 // second accumulator set acc(w..2w-1) for odd p
		n := w
		if two {
			n = 2 * w
		}
		for v := 0; v < n; v++ {
			s.zero(g, acc(v))
		}
		if two {
			g.SHRQ(U8(1), cnt)
			g.JZ(LabelRef(lbl + "_odd"))
			g.Label(lbl + "_loop2")
			g.VBROADCASTSS(Mem{Base: qa}, bc)
			g.VBROADCASTSS(Mem{Base: qa, Disp: 4}, bc2)
			for v := 0; v < w; v++ {
				g.VFMADD231PS(Mem{Base: qb, Disp: 32 * v}, bc, acc(v))
			}
			g.ADDQ(ldb, qb)
			for v := 0; v < w; v++ {
				g.VFMADD231PS(Mem{Base: qb, Disp: 32 * v}, bc2, acc(w+v))
			}
			g.ADDQ(ldb, qb)
			g.ADDQ(U8(8), qa)
			g.DECQ(cnt)
			g.JNZ(LabelRef(lbl + "_loop2"))
			g.Label(lbl + "_odd")
			g.TESTQ(U32(1), k)
			g.JZ(LabelRef(lbl + "_sum"))
			g.VBROADCASTSS(Mem{Base: qa}, bc)
			for v := 0; v < w; v++ {
				g.VFMADD231PS(Mem{Base: qb, Disp: 32 * v}, bc, acc(v))
			}
			g.Label(lbl + "_sum")
			for v := 0; v < w; v++ {
				g.VADDPS(acc(w+v), acc(v), acc(v))
			}
		} else {
			g.Label(lbl + "_loop")
			g.VBROADCASTSS(Mem{Base: qa}, bc)
			for v := 0; v < w; v++ {
				g.VFMADD231PS(Mem{Base: qb, Disp: 32 * v}, bc, acc(v))
			}
			g.ADDQ(ldb, qb)
			g.ADDQ(U8(4), qa)
			g.DECQ(cnt)
			g.JNZ(LabelRef(lbl + "_loop"))
		}
		store(lbl, w)
	}

	nb := g.GP64()
	g.MOVQ(nv, nb)
	g.SHRQ(U8(3), nb)
	g.JZ(LabelRef(name + "_rest"))
	g.Label(name + "_block8")
	block(8)
	g.DECQ(nb)
	g.JNZ(LabelRef(name + "_block8"))

	g.Label(name + "_rest")
	g.ANDQ(U8(7), nv)
	for w := 1; w <= 7; w++ {
		g.CMPQ(nv, U8(w))
		g.JEQ(LabelRef(fmt.Sprintf("%s_rest%d", name, w)))
	}
	g.JMP(LabelRef(name + "_done"))
	for w := 1; w <= 7; w++ {
		g.Label(fmt.Sprintf("%s_rest%d", name, w))
		block(w)
		g.JMP(LabelRef(name + "_done"))
	}
	g.Label(name + "_done")
	g.VZEROUPPER()
	g.RET()
}
