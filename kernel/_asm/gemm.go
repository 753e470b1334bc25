package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// genMicroKernel writes the register-blocked GEMM micro-kernel
//
//	sgemmKern<MR>x<NR><ISA>(k int, a *float32, aStep, aRow int, b *float32, bStep int,
//	                        c *float32, ldc int, alpha, beta float32)
//
// which computes, for an MR×NR tile of C (row-major, leading dimension ldc),
//
//	C[r][j] = alpha·Σ_p A(r,p)·B(p,j) + beta·C[r][j]     (C is not read when beta == ±0)
//
// with A(r,p) = a[p*aStep + r*aRow] and B(p,j) = b[p*bStep + j], all strides
// in elements. The packed layouts use aStep=MR, aRow=1, bStep=NR; the same
// kernel also reads an unpacked row-major A (aStep=1, aRow=lda), a transposed
// one (aStep=lda, aRow=1) and an unpacked B (bStep=ldb), which lets GemmSerial
// skip packing on small tiles. In Go, the loop it computes is
//
//	for p := 0; p < k; p++ {
//		for r := 0; r < MR; r++ {
//			for j := 0; j < NR; j++ {
//				acc[r][j] = fma(A(r,p), B(p,j), acc[r][j])
//			}
//		}
//	}
//
// A rows are addressed from groups of five: row 5g+i is at
// ptr_g + {0, aRow, 2·aRow, 3·aRow, 4·aRow}[i], using the index registers aRow
// and 3·aRow with scales 1, 2 and 4, so one ADD per group advances k.
func genMicroKernel(g *build.Context, s isa) {
	mr, nv := s.mr, s.nv
	nr := nv * s.lanes
	name := fmt.Sprintf("sgemmKern%dx%d%s", mr, nr, s.name)
	leaf(g, name, "func(k int, a *float32, aStep, aRow int, b *float32, bStep int, c *float32, ldc int, alpha, beta float32)")
	g.Doc(fmt.Sprintf("%s computes an %dx%d tile of C = alpha·A·B + beta·C (see genMicroKernel).", name, mr, nr))

	acc := func(r, v int) reg.VecPhysical { return s.phys(r*nv + v) }
	bv := func(v int) reg.VecPhysical { return s.phys(mr*nv + v) }
	bc := s.phys(mr*nv + nv) // broadcast A element
	if mr*nv+nv+1 > s.nregs {
		panic("micro-kernel needs too many vector registers")
	}

	k := g.Load(g.Param("k"), g.GP64())
	aStep := g.Load(g.Param("aStep"), g.GP64())
	g.SHLQ(U8(2), aStep)
	aRow := g.Load(g.Param("aRow"), g.GP64())
	g.SHLQ(U8(2), aRow)
	aRow3 := g.GP64()
	g.LEAQ(Mem{Base: aRow, Index: aRow, Scale: 2}, aRow3)
	aRow5 := g.GP64()
	g.LEAQ(Mem{Base: aRow, Index: aRow, Scale: 4}, aRow5)
	ngroups := (mr + 4) / 5
	pa := make([]reg.GPVirtual, ngroups)
	pa[0] = g.GP64()
	g.Load(g.Param("a"), pa[0])
	for i := 1; i < ngroups; i++ {
		pa[i] = g.GP64()
		g.LEAQ(Mem{Base: pa[i-1], Index: aRow5, Scale: 1}, pa[i])
	}
	pb := g.Load(g.Param("b"), g.GP64())
	bStep := g.Load(g.Param("bStep"), g.GP64())
	g.SHLQ(U8(2), bStep)

	rowAddr := func(r int) Mem {
		base := pa[r/5]
		switch r % 5 {
		case 0:
			return Mem{Base: base}
		case 1:
			return Mem{Base: base, Index: aRow, Scale: 1}
		case 2:
			return Mem{Base: base, Index: aRow, Scale: 2}
		case 3:
			return Mem{Base: base, Index: aRow3, Scale: 1}
		default:
			return Mem{Base: base, Index: aRow, Scale: 4}
		}
	}

	// Prefetch the C tile: it is read (beta != 0) and written after the
	// k loop, and is typically not in cache.
	{
		pc := g.Load(g.Param("c"), g.GP64())
		ldc := g.Load(g.Param("ldc"), g.GP64())
		g.SHLQ(U8(2), ldc)
		for r := 0; r < mr; r++ {
			g.PREFETCHT0(Mem{Base: pc})
			g.PREFETCHT0(Mem{Base: pc, Disp: nr*4 - 4})
			if r < mr-1 {
				g.ADDQ(ldc, pc)
			}
		}
	}
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			s.zero(g, acc(r, v))
		}
	}

	step := func() {
		for v := 0; v < nv; v++ {
			g.VMOVUPS(Mem{Base: pb, Disp: v * s.bytes()}, bv(v))
		}
		for r := 0; r < mr; r++ {
			g.VBROADCASTSS(rowAddr(r), bc)
			for v := 0; v < nv; v++ {
				g.VFMADD231PS(bv(v), bc, acc(r, v))
			}
		}
		for _, p := range pa {
			g.ADDQ(aStep, p)
		}
		g.ADDQ(bStep, pb)
	}

	const unroll = 4
	n4 := g.GP64()
	g.MOVQ(k, n4)
	g.SHRQ(U8(2), n4)
	g.JZ(LabelRef(name + "_tail"))
	g.Label(name + "_loop4")
	for u := 0; u < unroll; u++ {
		step()
	}
	g.DECQ(n4)
	g.JNZ(LabelRef(name + "_loop4"))
	g.Label(name + "_tail")
	g.ANDQ(U8(unroll-1), k)
	g.JZ(LabelRef(name + "_store"))
	g.Label(name + "_loop1")
	step()
	g.DECQ(k)
	g.JNZ(LabelRef(name + "_loop1"))

	// C update. alpha goes to bv(0), beta to bv(1); bc is the temporary.
	g.Label(name + "_store")
	pc := g.Load(g.Param("c"), g.GP64())
	ldc := g.Load(g.Param("ldc"), g.GP64())
	g.SHLQ(U8(2), ldc)
	alpha, beta := bv(0), bv(1)
	g.VBROADCASTSS(paramAddr(g, "alpha"), alpha)
	betaBits := g.GP32()
	g.MOVL(paramAddr(g, "beta"), betaBits)
	g.ANDL(U32(0x7fffffff), betaBits)
	g.JZ(LabelRef(name + "_beta0"))

	g.VBROADCASTSS(paramAddr(g, "beta"), beta)
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			m := Mem{Base: pc, Disp: v * s.bytes()}
			g.VMULPS(m, beta, bc)
			g.VFMADD231PS(acc(r, v), alpha, bc)
			g.VMOVUPS(bc, m)
		}
		if r < mr-1 {
			g.ADDQ(ldc, pc)
		}
	}
	g.VZEROUPPER()
	g.RET()

	g.Label(name + "_beta0")
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			g.VMULPS(acc(r, v), alpha, acc(r, v))
			g.VMOVUPS(acc(r, v), Mem{Base: pc, Disp: v * s.bytes()})
		}
		if r < mr-1 {
			g.ADDQ(ldc, pc)
		}
	}
	g.VZEROUPPER()
	g.RET()
}

// paramAddr is the stack address of a scalar parameter (for VBROADCASTSS
// straight from the argument frame, which also works for registers 16-31).
func paramAddr(g *build.Context, name string) Mem {
	b, err := g.Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}
