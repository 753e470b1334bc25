package kernel

import (
	"math"
	"math/rand/v2"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/attn-go/attn/internal/numcheck"
)

// vecLengths straddle the 8- and 16-lane widths and the 4-vector unroll.
var vecLengths = []int{0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 1000}

// Every level of Dot, Axpy, ScaleInPlace and MaxOf against float64, at
// lengths around the vector widths and at unaligned offsets.
func TestVecKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for _, lv := range vecLevels() {
		name := levelNames[lv]
		for _, n := range vecLengths {
			for _, off := range []int{0, 1, 3} {
				x := randSlice(rng, n+off+2)[off : off+n]
				y := randSlice(rng, n+off+2)[off : off+n+2]
				var want, mag float64
				for i := range x {
					want += float64(x[i]) * float64(y[i])
					mag += math.Abs(float64(x[i]) * float64(y[i]))
				}
				// Lane-wise float32 summation: at most n·2^-24·Σ|x·y|.
				if d := math.Abs(float64(dotLevel(lv, x, y[:n])) - want); numcheck.Exceeds(d, 0x1p-24*float64(n+1)*mag) {
					t.Fatalf("%s n=%d: Dot off by %g", name, n, d)
				}

				y0 := append([]float32(nil), y...)
				axpyLevel(lv, -1.25, x, y[:n])
				for i := range y {
					if i >= n {
						if y[i] != y0[i] {
							t.Fatalf("%s n=%d: Axpy wrote y[%d] past x", name, n, i)
						}
						continue
					}
					// One (FMA) or two roundings of y + alpha·x.
					w := float64(y0[i]) - 1.25*float64(x[i])
					if d := math.Abs(float64(y[i]) - w); numcheck.Exceeds(d, 0x1p-23*(math.Abs(float64(y0[i]))+math.Abs(1.25*float64(x[i])))) {
						t.Fatalf("%s n=%d: Axpy y[%d] = %v, want %v", name, n, i, y[i], w)
					}
				}

				s := append([]float32(nil), x...)
				scaleLevel(lv, 0.3, s)
				for i := range s {
					if s[i] != 0.3*x[i] {
						t.Fatalf("%s n=%d: Scale x[%d] = %v, want %v", name, n, i, s[i], 0.3*x[i])
					}
				}

				if got, w := maxLevel(lv, x), maxGo(x); got != w {
					t.Fatalf("%s n=%d: MaxOf = %v, want %v", name, n, got, w)
				}
			}
		}
		// The maximum in every position, and -Inf everywhere.
		for n := 1; n < 70; n++ {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(math.Inf(-1))
			}
			if got := maxLevel(lv, x); !math.IsInf(float64(got), -1) {
				t.Fatalf("%s n=%d: MaxOf(-Inf...) = %v", name, n, got)
			}
			for p := range x {
				x[p] = 5
				if got := maxLevel(lv, x); got != 5 {
					t.Fatalf("%s n=%d: max at %d: got %v", name, n, p, got)
				}
				// NaN anywhere, even before or after a larger value, is
				// reported: the fused attention relies on it.
				x[p] = float32(math.NaN())
				if got := maxLevel(lv, x); got == got {
					t.Fatalf("%s n=%d: NaN at %d: MaxOf = %v, want NaN", name, n, p, got)
				}
				x[p] = -3
			}
		}
	}
}

// ulpErr is |got - want| in units of the float32 ulp at want (a normal
// float32 magnitude).
func ulpErr(got float32, want float64) float64 {
	e := math.Ilogb(want)
	return math.Abs(float64(got)-want) / math.Ldexp(1, e-23)
}

// expMaxULP is the accuracy bound of ExpShift stated in the docs.
const expMaxULP = 2

// smallestNormal is the smallest normal float32, 2^-126.
var smallestNormal = math.Ldexp(1, -126)

// expSweep checks the polynomial exp of one level over inputs visited by
// next and returns the largest ulp error where exp(x) is a normal float32.
func expSweep(t *testing.T, lv int, xs []float32) (worst float64, at float32) {
	buf := append([]float32(nil), xs...)
	expShiftLevel(lv, buf, 0)
	for i, x := range xs {
		want := math.Exp(float64(x))
		got := buf[i]
		if want < smallestNormal {
			// Subnormal results: gradual underflow, so within one
			// subnormal step (2^-149) of the exact value.
			if numcheck.Exceeds(math.Abs(float64(got)-want), math.Ldexp(1, -149)) {
				t.Fatalf("%s: exp(%v) = %v, want %v (subnormal range)", levelNames[lv], x, got, want)
			}
			continue
		}
		if e := ulpErr(got, want); numcheck.Worse(e, worst) {
			worst, at = e, x
		}
	}
	return worst, at
}

// TestExpShiftError sweeps [-104, 0] densely (2^22 evenly spread float32
// inputs, plus every float32 in [-1, 0] near 0 and near the ends of the
// range) and asserts the stated error bound for each level. Set
// ATTN_EXP_FULL=1 to visit every float32 in [-104, 0] (about 1.1·10^9
// inputs per level; tens of seconds).
func TestExpShiftError(t *testing.T) {
	var xs []float32
	if os.Getenv("ATTN_EXP_FULL") != "" {
		// All float32 in [-104, 0]: bit patterns from -0 up to -104.
		lo := math.Float32bits(-104)
		for _, lv := range vecLevels() {
			worst, at := 0.0, float32(0)
			const chunk = 1 << 22
			for b := uint32(0x80000000); b <= lo; b += chunk {
				xs = xs[:0]
				for u := b; u < b+chunk && u <= lo; u++ {
					xs = append(xs, math.Float32frombits(u))
				}
				if w, a := expSweep(t, lv, xs); numcheck.Worse(w, worst) {
					worst, at = w, a
				}
			}
			t.Logf("%s: max error %.3f ulp at x = %v (every float32 in [-104, 0])", levelNames[lv], worst, at)
			if numcheck.Exceeds(worst, expMaxULP) {
				t.Errorf("%s: %.3f ulp > %d", levelNames[lv], worst, expMaxULP)
			}
		}
		return
	}
	n := 1 << 22
	if raceEnabled || testing.Short() {
		n = 1 << 16
	}
	for i := 0; i <= n; i++ {
		xs = append(xs, float32(-104*float64(i)/float64(n)))
	}
	for _, c := range []float32{0, -87.33655, -103.9721, -0.34657359, -1} {
		u := math.Float32bits(c)
		for d := uint32(0); d < uint32(n)>>6; d++ {
			if v := math.Float32frombits(u + d); v <= 0 && v >= -104 {
				xs = append(xs, v)
			}
			if v := math.Float32frombits(u - d); v <= 0 && v >= -104 && u >= d {
				xs = append(xs, v)
			}
		}
	}
	for _, lv := range vecLevels() {
		worst, at := expSweep(t, lv, xs)
		t.Logf("%s: max error %.3f ulp at x = %v over %d inputs in [-104, 0]", levelNames[lv], worst, at, len(xs))
		if numcheck.Exceeds(worst, expMaxULP) {
			t.Errorf("%s: exp error %.3f ulp at %v exceeds %d ulp", levelNames[lv], worst, at, expMaxULP)
		}
	}
}

// ExpShift: shift, -Inf → exactly 0, deep underflow → 0, overflow → +Inf,
// the returned sum, and every tail length.
func TestExpShift(t *testing.T) {
	inf := float32(math.Inf(1))
	for _, lv := range vecLevels() {
		name := levelNames[lv]
		for _, n := range vecLengths {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(i%11) - 7
				switch i % 5 {
				case 1:
					x[i] = -inf
				case 3:
					x[i] = -200
				}
			}
			orig := append([]float32(nil), x...)
			sum := expShiftLevel(lv, x, 2.5)
			var want float64
			for i, v := range orig {
				e := math.Exp(float64(v) - 2.5)
				want += float64(x[i])
				switch {
				case math.IsInf(float64(v), -1) || v == -200:
					if x[i] != 0 {
						t.Fatalf("%s n=%d: exp(%v) = %v, want exactly 0", name, n, v, x[i])
					}
				case numcheck.Exceeds(ulpErr(x[i], e), expMaxULP):
					t.Fatalf("%s n=%d: exp(%v-2.5) = %v, want %v", name, n, v, x[i], e)
				}
			}
			if d := math.Abs(float64(sum) - want); numcheck.Exceeds(d, 0x1p-22*float64(n+1)*want) {
				t.Fatalf("%s n=%d: sum %v, want %v", name, n, sum, want)
			}
		}
		bigIn := []float32{88, 88.7, 89, 100, 1e30, float32(math.Copysign(0, -1)), 0}
		big := append([]float32(nil), bigIn...)
		expShiftLevel(lv, big, 0)
		for i, x := range bigIn {
			w := math.Exp(float64(x))
			if w > math.MaxFloat32 {
				w = math.Inf(1)
			}
			if math.IsInf(w, 1) != math.IsInf(float64(big[i]), 1) || (!math.IsInf(w, 1) && numcheck.Exceeds(ulpErr(big[i], w), expMaxULP)) {
				t.Fatalf("%s: large input %d: got %v, want %v", name, i, big[i], w)
			}
		}
	}
}

// The constants compiled into the assembly (the DATA lines of
// kernel_amd64.s, written by _asm/vec.go) equal the Go twin's.
func TestExpConstants(t *testing.T) {
	src, err := os.ReadFile("kernel_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]uint32{
		"expLo": math.Float32bits(expLo), "expHi": math.Float32bits(expHi),
		"log2e": math.Float32bits(expLog2e), "magic": math.Float32bits(expMagic),
		"ln2hi": math.Float32bits(expLn2Hi), "ln2lo": math.Float32bits(expLn2Lo),
		"p0": math.Float32bits(expP0), "p1": math.Float32bits(expP1), "p2": math.Float32bits(expP2),
		"p3": math.Float32bits(expP3), "p4": math.Float32bits(expP4), "p5": math.Float32bits(expP5),
		"one": math.Float32bits(1), "bias": 127, "negInf": math.Float32bits(float32(math.Inf(-1))),
	}
	re := regexp.MustCompile(`DATA kconst_(\w+)<>\+(\d+)\(SB\)/4, \$0x([0-9a-f]+)`)
	seen := map[string]int{}
	for _, m := range re.FindAllStringSubmatch(string(src), -1) {
		v, _ := strconv.ParseUint(m[3], 16, 32)
		w, ok := want[m[1]]
		if !ok || uint32(v) != w {
			t.Errorf("kconst_%s+%s = %#x, Go twin has %#x", m[1], m[2], v, w)
		}
		seen[m[1]]++
	}
	for name := range want {
		if seen[name] != 16 {
			t.Errorf("kconst_%s: %d DATA words, want 16", name, seen[name])
		}
	}
}

// Softmax with the vector kernels at every level keeps SoftmaxRef's
// contract (TestSoftmax runs the default level).
func TestSoftmaxLevels(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	inf := float32(math.Inf(-1))
	for _, lv := range vecLevels() {
		if lv == levelGo {
			continue
		}
		for _, n := range vecLengths[1:] {
			x := randSlice(rng, n)
			for i := range x {
				x[i] *= 5
				if i%7 == 3 {
					x[i] = inf
				}
			}
			ref := make([]float64, n)
			for i, v := range x {
				ref[i] = float64(v)
			}
			wantLSE := SoftmaxRef(ref)
			lse := softmaxLevel(lv, x)
			allMasked := math.IsInf(wantLSE, -1)
			if allMasked != math.IsInf(float64(lse), -1) {
				t.Fatalf("%s n=%d: lse %v, want %v", levelNames[lv], n, lse, wantLSE)
			}
			if !allMasked && numcheck.Exceeds(math.Abs(float64(lse)-wantLSE), 4*0x1p-24*math.Max(1, math.Abs(wantLSE))) {
				t.Fatalf("%s n=%d: lse %v, want %v", levelNames[lv], n, lse, wantLSE)
			}
			for i := range x {
				// exp (≤ 2 ulp), sum, reciprocal and product: a few ulp.
				if d := math.Abs(float64(x[i]) - ref[i]); numcheck.Exceeds(d, 8*0x1p-24*ref[i]+float64(n)*0x1p-24*ref[i]) {
					t.Fatalf("%s n=%d: p[%d] = %v, want %v", levelNames[lv], n, i, x[i], ref[i])
				}
				if i%7 == 3 && x[i] != 0 {
					t.Fatalf("%s n=%d: masked p[%d] = %v", levelNames[lv], n, i, x[i])
				}
			}
		}
		x := []float32{inf, inf, inf, inf, inf, inf, inf, inf, inf}
		if lse := softmaxLevel(lv, x); !math.IsInf(float64(lse), -1) || maxGo(x) != 0 {
			t.Fatalf("%s: all masked gave %v, lse %v", levelNames[lv], x, lse)
		}
	}
}

// SoftmaxGrad at every level equals its Go twin bit for bit (one
// subtraction and one multiply, each rounded once), keeps exact zeros of p
// even where dp is NaN or Inf, computes where p is NaN, and writes nothing
// past len(p).
func TestSoftmaxGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, lv := range vecLevels() {
		for _, n := range vecLengths {
			p := randSlice(rng, n+3)
			dp := randSlice(rng, n+3)
			for i := 0; i < n; i += 3 {
				p[i] = 0
				dp[i] = []float32{nan, inf, -inf}[i%3]
			}
			if n > 5 {
				p[5] = nan
			}
			want := append([]float32(nil), p...)
			softmaxGradGo(want[:n], dp, 0.37)
			got := append([]float32(nil), p...)
			softmaxGradLevel(lv, got[:n], dp, 0.37)
			for i := range got {
				same := got[i] == want[i] || (got[i] != got[i] && want[i] != want[i])
				if !same || math.Signbit(float64(got[i])) != math.Signbit(float64(want[i])) && got[i] == got[i] {
					t.Fatalf("%s n=%d: p[%d] = %v, want %v", levelNames[lv], n, i, got[i], want[i])
				}
				if i < n && p[i] == 0 && got[i] != 0 {
					t.Fatalf("%s n=%d: zero p[%d] became %v", levelNames[lv], n, i, got[i])
				}
				if i >= n && got[i] != p[i] {
					t.Fatalf("%s n=%d: wrote p[%d] past the slice", levelNames[lv], n, i)
				}
			}
		}
	}
}

// AllFinite at every level: random finite data (including the largest
// float32s, whose x−x is still 0), and one NaN, +Inf or −Inf at every
// position, at lengths around the vector widths and unaligned offsets.
func TestAllFinite(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	bad := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}
	for _, lv := range vecLevels() {
		name := levelNames[lv]
		for _, n := range append(vecLengths, 70, 257) {
			for _, off := range []int{0, 1, 3} {
				x := randSlice(rng, n+off)[off:]
				if n > 0 {
					x[rng.IntN(n)] = math.MaxFloat32
					x[rng.IntN(n)] = -math.MaxFloat32
				}
				if !allFiniteLevel(lv, x) {
					t.Fatalf("%s n=%d off=%d: finite data reported non-finite", name, n, off)
				}
				if n > 70 {
					continue
				}
				for p := range x {
					for _, b := range bad {
						v := x[p]
						x[p] = b
						if allFiniteLevel(lv, x) {
							t.Fatalf("%s n=%d off=%d: %v at %d not seen", name, n, off, b, p)
						}
						x[p] = v
					}
				}
			}
		}
	}
}
