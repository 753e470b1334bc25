package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/attn-go/attn/internal/numcheck"
)

// The float64 constants in the generated assembly must be the Go twin's.
func TestNormCDFConstants(t *testing.T) {
	src, err := os.ReadFile("kernel_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	const sa, sb = 4 / (1 - erfcxULo), -(1 + erfcxULo) / (1 - erfcxULo)
	want := map[string]uint64{
		"mhalf": math.Float64bits(-0.5), "one": math.Float64bits(1), "two": math.Float64bits(2),
		"invsqrt2": math.Float64bits(1 / math.Sqrt2),
		"sa":       math.Float64bits(sa), "sb": math.Float64bits(sb), "abs": 1<<63 - 1,
	}
	for i, c := range erfcxCoef {
		want["c"+string(rune('a'+i))] = math.Float64bits(c)
	}
	re := regexp.MustCompile(`DATA kconst_d_(\w+)<>\+(\d+)\(SB\)/8, \$0x([0-9a-f]+)`)
	seen := map[string]int{}
	for _, m := range re.FindAllStringSubmatch(string(src), -1) {
		v, _ := strconv.ParseUint(m[3], 16, 64)
		if w, ok := want[m[1]]; !ok || v != w {
			t.Errorf("kconst_d_%s+%s = %#x, Go twin has %#x", m[1], m[2], v, w)
		}
		seen[m[1]]++
	}
	for name := range want {
		if seen[name] != 4 {
			t.Errorf("kconst_d_%s: %d DATA words, want 4", name, seen[name])
		}
	}
}

// normCDFInputs mixes the ranges that matter: the body, both tails up to
// and past the exp's fast range (|x| > 13.19) and the fit's end (|x| >
// 14.8), zeros, subnormals, ±Inf and NaN.
func normCDFInputs(n int) []float32 {
	rng := rand.New(rand.NewPCG(3, 4))
	special := []float32{0, float32(math.Copysign(0, -1)), 1e-40, -1e-40, 13.19, -13.19, 13.2, -13.2, 14.9, -14.9, 40, -40,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), math.MaxFloat32, -math.MaxFloat32}
	x := make([]float32, n)
	for i := range x {
		switch i % 5 {
		case 0:
			x[i] = special[i/5%len(special)]
		case 1:
			x[i] = float32(rng.NormFloat64() * 12)
		default:
			x[i] = float32(rng.NormFloat64() * 2)
		}
	}
	return x
}

// The AVX2 kernel against its Go twin on the same exps, at lengths around
// its 4 lanes and the 256-element blocks: the same operations in the same
// order, so equal up to a few float64 ulps (exactly equal unless the
// compiler fuses the twin's multiply-adds, which GOAMD64=v3 allows), NaN
// where the twin has NaN. The reference takes each block's exps as
// NormCDF does (ExpShift at the AVX2 level, whose tail runs in Go) and
// every element through normCDFGo.
func TestNormCDFMatchesTwin(t *testing.T) {
	if !haveAVX2 {
		t.Skip("no AVX2 in this build or CPU")
	}
	for _, n := range []int{1, 3, 4, 5, 7, 8, 255, 256, 257, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			x := normCDFInputs(n)
			phi, ez := make([]float64, n), make([]float64, n)
			normCDFLevel(levelAVX2, phi, ez, x)
			phiGo, ezGo := make([]float64, n), make([]float64, n)
			for j0 := 0; j0 < n; j0 += normBlock {
				xs := x[j0:min(j0+normBlock, n)]
				e := make([]float32, len(xs))
				for i, v := range xs {
					f := float64(v)
					e[i] = float32(-0.5 * f * f)
				}
				expShiftLevel(levelAVX2, e, 0)
				normCDFGo(xs, e, ezGo[j0:], phiGo[j0:])
			}
			for i := range x {
				for _, c := range []struct {
					name      string
					got, want float64
				}{{"phi", phi[i], phiGo[i]}, {"ez", ez[i], ezGo[i]}} {
					if math.IsNaN(c.want) && math.IsNaN(c.got) {
						continue // a NaN input: NaN from both
					}
					if numcheck.Exceeds(math.Abs(c.got-c.want), 4*ulp64(c.want)) {
						t.Errorf("x=%v: %s %v, Go twin %v", x[i], c.name, c.got, c.want)
					}
				}
			}
		})
	}
}

func ulp64(v float64) float64 {
	v = math.Abs(v)
	return math.Nextafter(v, math.Inf(1)) - v
}

// Φ and e^(−x²/2) against math.Erfc and math.Exp in float64: relative
// error within 1.2e-7, two float32 ulps (the float32 exp's rounding with its
// residual put back dominates the fit's 1.8e-10), down to x = −14.8, where
// the fit ends and Φ is 2e-50, far below float32's smallest subnormal
// (GELU's x·Φ(x) is 0 there); beyond it Φ only has to stay that small.
// Φ(±Inf) = 1 or 0, ez(±Inf) = 0, NaN stays NaN.
func TestNormCDFAccuracy(t *testing.T) {
	x := normCDFInputs(5000)
	phi, ez := make([]float64, len(x)), make([]float64, len(x))
	NormCDF(phi, ez, x)
	worst := 0.0
	for i, v := range x {
		f := float64(v)
		if math.IsNaN(f) {
			if !math.IsNaN(phi[i]) {
				t.Errorf("Φ(NaN) = %v", phi[i])
			}
			continue
		}
		want := 0.5 * math.Erfc(-f/math.Sqrt2)
		wantE := math.Exp(-0.5 * f * f)
		for _, c := range []struct {
			name      string
			got, want float64
		}{{"Φ", phi[i], want}, {"e^(−x²/2)", ez[i], wantE}} {
			if c.want < 0x1p-1022 || (c.name == "Φ" && f < -14.8) {
				if numcheck.Exceeds(c.got, 1e-49) {
					t.Errorf("%s(%v) = %v, want %v (below 1e-49)", c.name, v, c.got, c.want)
				}
				continue
			}
			rel := math.Abs(c.got-c.want) / c.want
			worst = max(worst, rel)
			if numcheck.Exceeds(rel, 1.2e-7) {
				t.Errorf("%s(%v) = %v, want %v (rel err %.3g)", c.name, v, c.got, c.want, rel)
			}
		}
	}
	t.Logf("worst relative error %.3g", worst)
}
