package main

import (
	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// isa describes one vector instruction set the kernels are generated for.
// The AVX-512 kernels use only AVX-512F instructions (no DQ/BW/VL) plus
// VEX-encoded AVX/AVX2 on registers 0-15 for horizontal reductions.
type isa struct {
	name  string // suffix of the Go function names: "AVX2", "AVX512"
	lanes int    // float32 lanes per vector register
	nregs int    // vector registers addressable: 16 (VEX) or 32 (EVEX)
	mr    int    // micro-kernel rows
	nv    int    // micro-kernel vectors per row (NR = nv*lanes)
}

var (
	// 6x16: 12 accumulators + 2 B vectors + 1 broadcast = 15 of 16 ymm.
	avx2 = isa{name: "AVX2", lanes: 8, nregs: 16, mr: 6, nv: 2}
	// 14x32: 28 accumulators + 2 B vectors + 1 broadcast = 31 of 32 zmm.
	avx512 = isa{name: "AVX512", lanes: 16, nregs: 32, mr: 14, nv: 2}
)

func (s isa) bytes() int { return 4 * s.lanes }

// phys returns physical vector register i of this ISA's width.
func (s isa) phys(i int) reg.VecPhysical {
	if s.lanes == 16 {
		return zmm[i]
	}
	return ymm[i]
}

// vec allocates a virtual vector register of this ISA's width.
func (s isa) vec(g *build.Context) reg.VecVirtual {
	if s.lanes == 16 {
		return g.ZMM()
	}
	return g.YMM()
}

// zero clears v: VXORPS for ymm, VPXORD for zmm (VXORPS zmm needs AVX512DQ).
func (s isa) zero(g *build.Context, v reg.Register) {
	if s.lanes == 16 {
		g.VPXORD(v, v, v)
	} else {
		g.VXORPS(v, v, v)
	}
}

var ymm = []reg.VecPhysical{reg.Y0, reg.Y1, reg.Y2, reg.Y3, reg.Y4, reg.Y5, reg.Y6, reg.Y7,
	reg.Y8, reg.Y9, reg.Y10, reg.Y11, reg.Y12, reg.Y13, reg.Y14, reg.Y15}

var zmm = []reg.VecPhysical{reg.Z0, reg.Z1, reg.Z2, reg.Z3, reg.Z4, reg.Z5, reg.Z6, reg.Z7,
	reg.Z8, reg.Z9, reg.Z10, reg.Z11, reg.Z12, reg.Z13, reg.Z14, reg.Z15,
	reg.Z16, reg.Z17, reg.Z18, reg.Z19, reg.Z20, reg.Z21, reg.Z22, reg.Z23,
	reg.Z24, reg.Z25, reg.Z26, reg.Z27, reg.Z28, reg.Z29, reg.Z30, reg.Z31}

// leaf starts a generated function that calls nothing and whose pointer
// arguments do not escape: the preamble every kernel shares.
func leaf(g *build.Context, name, signature string) {
	g.Function(name)
	g.Attributes(attr.NOSPLIT)
	g.Pragma("noescape")
	g.SignatureExpr(signature)
}

// fold4 combines four accumulators into acc[0] with op (VADDPS, VMAXPS):
// (0 op 1) op (2 op 3).
func fold4(op func(ops ...operand.Op), acc []reg.VecPhysical) {
	op(acc[1], acc[0], acc[0])
	op(acc[3], acc[2], acc[2])
	op(acc[2], acc[0], acc[0])
}
