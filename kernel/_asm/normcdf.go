package main

import (
	"math"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// erfcxCoef must equal kernel/normcdf.go's (TestNormCDFConstants checks the
// generated data against it): the degree-12 fit of erfcx by
// scripts/fit/erfcx.py.
var erfcxCoef = [...]float64{
	0.5694087223854012,
	0.32718793034444943,
	0.10352099819496109,
	0.006307950007636089,
	-0.006327403685128771,
	-0.0006722123299607426,
	0.0006254771515836725,
	3.727660134661162e-06,
	-7.187688970403211e-05,
	1.2625796326032615e-05,
	6.569495759012972e-06,
	-2.208290879616427e-06,
	-2.9998888031008356e-07,
}

// genNormCDF writes
//
//	normCDFAVX2(x, e *float32, ez, phi *float64, n int)
//
// four lanes at a time in float64, n a multiple of 4: the vector form of
// kernel/normcdf.go's normCDFGo, operation for operation and in the same
// order (multiplies and adds, no fused multiply-adds, so that its results
// are the Go twin's bit for bit):
//
//	f := float64(x[i]); z := (-0.5 * f) * f
//	E := float64(e[i]) * (1 + (z - float64(float32(z))))
//	r := 1 / (2 + |f|·(1/√2)); s := sa·r + sb
//	q := Estrin(s); h := (E·r)·q
//	ez[i] = E; phi[i] = h if f < 0 else 1 − h
//
// Lanes outside the exp's fast range (|x| > 13.19, NaN) are redone by the
// caller in Go; they include every lane past the fit's end (|x| > 14.8),
// so the twin's clamp of s at −1 is not needed here.
func genNormCDF(g *build.Context) {
	const uLo = 2 / (2 + 10.5)
	consts := map[string]float64{
		"mhalf": -0.5, "one": 1, "two": 2, "invsqrt2": 1 / math.Sqrt2,
		"sa": 4 / (1 - uLo), "sb": -(1 + uLo) / (1 - uLo),
	}
	mem := map[string]Mem{}
	def := func(name string, bits uint64) {
		m := g.StaticGlobal("kconst_d_" + name)
		g.DataAttributes(attr.RODATA | attr.NOPTR)
		for i := 0; i < 4; i++ {
			g.AddDatum(8*i, U64(bits))
		}
		mem[name] = m
	}
	for _, name := range []string{"mhalf", "one", "two", "invsqrt2", "sa", "sb"} {
		def(name, math.Float64bits(consts[name]))
	}
	def("abs", 1<<63-1)
	cm := make([]Mem, len(erfcxCoef))
	for i, c := range erfcxCoef {
		def("c"+string(rune('a'+i)), math.Float64bits(c))
		cm[i] = mem["c"+string(rune('a'+i))]
	}

	name := "normCDFAVX2"
	leaf(g, name, "func(x, e *float32, ez, phi *float64, n int)")
	g.Doc(name+" sets ez[i] = e^(−x²/2) (from e[i], the float32 exp of float32(−x²/2)) and phi[i] = Φ(x[i])",
		"for i < n, in float64; n must be a multiple of 4. See normCDFGo.")
	x := g.Load(g.Param("x"), g.GP64())
	e := g.Load(g.Param("e"), g.GP64())
	ez := g.Load(g.Param("ez"), g.GP64())
	phi := g.Load(g.Param("phi"), g.GP64())
	n := g.Load(g.Param("n"), g.GP64())
	g.SHRQ(U8(2), n)
	g.JZ(LabelRef(name + "_done"))
	g.Label(name + "_loop")
	f, E, z, t := g.YMM(), g.YMM(), g.YMM(), g.YMM()
	g.VCVTPS2PD(Mem{Base: x}, f)
	g.VCVTPS2PD(Mem{Base: e}, E)
	// z = (-0.5·f)·f; E = E·(1 + (z − float64(float32(z))))
	g.VMULPD(mem["mhalf"], f, z)
	g.VMULPD(f, z, z)
	g.VCVTPD2PSY(z, t.AsX())
	g.VCVTPS2PD(t.AsX(), t)
	g.VSUBPD(t, z, t)
	g.VADDPD(mem["one"], t, t)
	g.VMULPD(t, E, E)
	// r = 1/(2 + |f|·(1/√2)); s = sa·r + sb
	r, s := g.YMM(), g.YMM()
	g.VANDPD(mem["abs"], f, t)
	g.VMULPD(mem["invsqrt2"], t, t)
	g.VADDPD(mem["two"], t, t)
	g.VMOVUPD(mem["one"], r)
	g.VDIVPD(t, r, r)
	g.VMULPD(mem["sa"], r, s)
	g.VADDPD(mem["sb"], s, s)
	// Estrin: p_k = (c[4k] + c[4k+1]·s) + (c[4k+2] + c[4k+3]·s)·s²,
	// q = (p0 + p1·s⁴) + (p2 + c[12]·s⁴)·s⁸.
	s2, s4 := g.YMM(), g.YMM()
	g.VMULPD(s, s, s2)
	g.VMULPD(s2, s2, s4)
	pk := func(k int) reg.VecVirtual {
		a, b := g.YMM(), g.YMM()
		g.VMULPD(cm[4*k+1], s, a)
		g.VADDPD(cm[4*k], a, a)
		g.VMULPD(cm[4*k+3], s, b)
		g.VADDPD(cm[4*k+2], b, b)
		g.VMULPD(s2, b, b)
		g.VADDPD(b, a, a)
		return a
	}
	p0, p1, p2 := pk(0), pk(1), pk(2)
	g.VMULPD(s4, p1, p1)
	g.VADDPD(p1, p0, p0)
	c12 := g.YMM()
	g.VMULPD(cm[12], s4, c12)
	g.VADDPD(c12, p2, p2)
	g.VMULPD(s4, s4, s2) // s⁸
	g.VMULPD(s2, p2, p2)
	g.VADDPD(p2, p0, p0) // q
	// h = (E·r)·q; phi = f < 0 ? h : 1 − h
	g.VMULPD(r, E, r)
	g.VMULPD(p0, r, r)
	g.VMOVUPD(mem["one"], t)
	g.VSUBPD(r, t, t)
	g.VBLENDVPD(f, r, t, t) // lanes whose f has its sign bit set take h
	g.VMOVUPD(E, Mem{Base: ez})
	g.VMOVUPD(t, Mem{Base: phi})
	g.ADDQ(U8(16), x)
	g.ADDQ(U8(16), e)
	g.ADDQ(U8(32), ez)
	g.ADDQ(U8(32), phi)
	g.DECQ(n)
	g.JNZ(LabelRef(name + "_loop"))
	g.Label(name + "_done")
	g.VZEROUPPER()
	g.RET()
}
