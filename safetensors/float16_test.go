package safetensors

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// f16Value computes the value of binary16 bits from the definition, in
// float64, independently of Float16ToFloat32.
func f16Value(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e := int(h>>10) & 0x1f
	m := float64(h & 0x3ff)
	switch e {
	case 0x1f:
		if m == 0 {
			return math.Inf(int(sign))
		}
		return math.NaN()
	case 0:
		return sign * math.Ldexp(m, -24)
	}
	return sign * math.Ldexp(1+m/1024, e-15)
}

func TestFloat16ExhaustiveRoundTrip(t *testing.T) {
	for i := range 1 << 16 {
		h := uint16(i)
		f := Float16ToFloat32(h)
		want := f16Value(h)
		if math.IsNaN(want) {
			if !math.IsNaN(float64(f)) {
				t.Fatalf("Float16ToFloat32(%#04x) = %v, want NaN", h, f)
			}
		} else if float64(f) != want || math.Signbit(float64(f)) != (h&0x8000 != 0) {
			t.Fatalf("Float16ToFloat32(%#04x) = %v, want %v", h, f, want)
		}
		back := Float32ToFloat16(f)
		if math.IsNaN(want) {
			if back&0x7c00 != 0x7c00 || back&0x3ff == 0 {
				t.Fatalf("NaN %#04x came back as %#04x, not a NaN", h, back)
			}
		}
		// Every value, NaN payloads included, comes back bit for bit.
		if back != h {
			t.Fatalf("Float32ToFloat16(Float16ToFloat32(%#04x)) = %#04x", h, back)
		}
	}
}

func TestBFloat16ExhaustiveRoundTrip(t *testing.T) {
	for i := range 1 << 16 {
		h := uint16(i)
		f := BFloat16ToFloat32(h)
		if got := math.Float32bits(f); got != uint32(h)<<16 {
			t.Fatalf("BFloat16ToFloat32(%#04x) has bits %#08x", h, got)
		}
		back := Float32ToBFloat16(f)
		if math.IsNaN(float64(f)) && !math.IsNaN(float64(BFloat16ToFloat32(back))) {
			t.Fatalf("NaN %#04x came back as %#04x, not a NaN", h, back)
		}
		if back != h {
			t.Fatalf("Float32ToBFloat16(BFloat16ToFloat32(%#04x)) = %#04x", h, back)
		}
	}
}

func TestFloat16SpotValues(t *testing.T) {
	toF32 := []struct {
		h    uint16
		want float32
	}{
		{0x3c00, 1}, {0xc000, -2}, {0x7bff, 65504}, {0xfbff, -65504},
		{0x0001, 0x1p-24}, {0x8001, -0x1p-24}, {0x03ff, 1023 * 0x1p-24}, {0x0400, 0x1p-14},
		{0x3555, 0.333251953125}, {0x0000, 0},
		{0x7c00, float32(math.Inf(1))}, {0xfc00, float32(math.Inf(-1))},
	}
	for _, c := range toF32 {
		if got := Float16ToFloat32(c.h); got != c.want {
			t.Errorf("Float16ToFloat32(%#04x) = %v, want %v", c.h, got, c.want)
		}
	}
	if got := Float16ToFloat32(0x8000); got != 0 || !math.Signbit(float64(got)) {
		t.Errorf("Float16ToFloat32(0x8000) = %v, want -0", got)
	}
	for _, h := range []uint16{0x7e00, 0x7c01, 0xfe00, 0x7fff} {
		if got := Float16ToFloat32(h); !math.IsNaN(float64(got)) {
			t.Errorf("Float16ToFloat32(%#04x) = %v, want NaN", h, got)
		}
	}

	toF16 := []struct {
		name string
		f    float32
		want uint16
	}{
		{"one", 1, 0x3c00},
		{"minus two", -2, 0xc000},
		{"max", 65504, 0x7bff},
		{"below max tie", 65519, 0x7bff},
		{"max tie to even is Inf", 65520, 0x7c00},
		{"overflow", 1e6, 0x7c00},
		{"negative overflow", -1e6, 0xfc00},
		{"max float32", math.MaxFloat32, 0x7c00},
		{"+Inf", float32(math.Inf(1)), 0x7c00},
		{"-Inf", float32(math.Inf(-1)), 0xfc00},
		{"smallest subnormal", 0x1p-24, 0x0001},
		{"half smallest subnormal ties to 0", 0x1p-25, 0x0000},
		{"just above half smallest", 0x1p-25 + 0x1p-40, 0x0001},
		{"quarter smallest", 0x1p-26, 0x0000},
		{"1.5 subnormal ties up to even 2", 3 * 0x1p-25, 0x0002},
		{"2.5 subnormal ties down to even 2", 5 * 0x1p-25, 0x0002},
		{"largest subnormal tie to normal", 1023.5 * 0x1p-24, 0x0400},
		{"smallest normal", 0x1p-14, 0x0400},
		{"tie 1+2^-11 to even 1", 1 + 0x1p-11, 0x3c00},
		{"tie 1+3*2^-11 to even", 1 + 3*0x1p-11, 0x3c02},
		{"above tie", 1 + 0x1p-11 + 0x1p-20, 0x3c01},
		{"below tie", 1 + 0x1p-11 - 0x1p-20, 0x3c00},
		{"tiny", 1e-10, 0x0000},
		{"negative tiny", -1e-10, 0x8000},
		{"float32 subnormal", 0x1p-149, 0x0000},
		{"third", 1.0 / 3, 0x3555},
	}
	for _, c := range toF16 {
		if got := Float32ToFloat16(c.f); got != c.want {
			t.Errorf("%s: Float32ToFloat16(%v) = %#04x, want %#04x", c.name, c.f, got, c.want)
		}
	}
	if got := Float32ToFloat16(float32(math.Copysign(0, -1))); got != 0x8000 {
		t.Errorf("Float32ToFloat16(-0) = %#04x, want 0x8000", got)
	}
	for _, bits := range []uint32{0x7fc00000, 0x7f800001, 0xffffffff, 0x7f802000} {
		got := Float32ToFloat16(math.Float32frombits(bits))
		if got&0x7c00 != 0x7c00 || got&0x3ff == 0 {
			t.Errorf("Float32ToFloat16(NaN %#08x) = %#04x, not a NaN", bits, got)
		}
	}
}

func TestBFloat16SpotValues(t *testing.T) {
	cases := []struct {
		name string
		bits uint32
		want uint16
	}{
		{"one", 0x3f800000, 0x3f80},
		{"tie to even down", 0x3f808000, 0x3f80},
		{"tie to even up", 0x3f818000, 0x3f82},
		{"above tie", 0x3f808001, 0x3f81},
		{"below tie", 0x3f807fff, 0x3f80},
		{"max float32 rounds to Inf", 0x7f7fffff, 0x7f80},
		{"max bf16 tie to Inf", 0x7f7f8000, 0x7f80},
		{"just below max tie", 0x7f7f7fff, 0x7f7f},
		{"-Inf", 0xff800000, 0xff80},
		{"-0", 0x80000000, 0x8000},
		{"subnormal tie", 0x00008000, 0x0000},
		{"subnormal tie up", 0x00018000, 0x0002},
		{"pi", math.Float32bits(math.Pi), 0x4049},
	}
	for _, c := range cases {
		if got := Float32ToBFloat16(math.Float32frombits(c.bits)); got != c.want {
			t.Errorf("%s: Float32ToBFloat16(%#08x) = %#04x, want %#04x", c.name, c.bits, got, c.want)
		}
	}
	if got := BFloat16ToFloat32(0x4049); got != 3.140625 {
		t.Errorf("BFloat16ToFloat32(0x4049) = %v", got)
	}
	for _, bits := range []uint32{0x7f800001, 0x7fc00000, 0xff800100, 0x7fffffff} {
		got := Float32ToBFloat16(math.Float32frombits(bits))
		if !math.IsNaN(float64(BFloat16ToFloat32(got))) {
			t.Errorf("Float32ToBFloat16(NaN %#08x) = %#04x, not a NaN", bits, got)
		}
	}
}

// nearestRef rounds |f| (finite, non-negative float64 holding a float32) to
// the nearest entry of vals, where vals[i] is the value of bit pattern i and
// vals[len-1] stands for Inf (the next power of two past the largest finite
// value), breaking ties toward the even pattern. It is a slow, obviously
// correct reference for the conversions.
func nearestRef(vals []float64, f float64) int {
	i := sort.SearchFloat64s(vals, f) // first index with vals[i] >= f
	if i < len(vals) && vals[i] == f {
		return i
	}
	if i == len(vals) {
		return len(vals) - 1
	}
	lo, hi := i-1, i
	dlo, dhi := f-vals[lo], vals[hi]-f // exact: see the test comment
	switch {
	case dlo < dhi:
		return lo
	case dhi < dlo:
		return hi
	case lo%2 == 0:
		return lo
	}
	return hi
}

// TestConversionsAgainstReference compares Float32ToFloat16 and
// Float32ToBFloat16 with nearestRef on random float32 bit patterns (every
// exponent range equally), on every midpoint between neighbouring targets
// and on the float32 values next to each midpoint. The differences
// nearestRef takes are exact in float64: f and its neighbours agree to
// within far fewer than 53 significant bits.
func TestConversionsAgainstReference(t *testing.T) {
	type conv struct {
		name    string
		to      func(float32) uint16
		from    func(uint16) float32
		maxBits uint16  // bit pattern of the largest finite value
		inf     float64 // the virtual next value standing for Inf
	}
	convs := []conv{
		{"f16", Float32ToFloat16, Float16ToFloat32, 0x7bff, 65536},
		{"bf16", Float32ToBFloat16, BFloat16ToFloat32, 0x7f7f, math.Ldexp(1, 128)},
	}
	r := rand.New(rand.NewPCG(7, 11))
	for _, c := range convs {
		vals := make([]float64, 0, int(c.maxBits)+2)
		for h := range uint32(c.maxBits) + 1 {
			vals = append(vals, float64(c.from(uint16(h))))
		}
		vals = append(vals, c.inf)

		check := func(f float32) {
			if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
				return
			}
			want := uint16(nearestRef(vals, math.Abs(float64(f))))
			if math.Signbit(float64(f)) {
				want |= 0x8000
			}
			if got := c.to(f); got != want {
				t.Fatalf("%s: convert %v (bits %#08x) = %#04x, want %#04x", c.name, f, math.Float32bits(f), got, want)
			}
		}
		for range 300000 {
			check(math.Float32frombits(r.Uint32()))
		}
		for i := 0; i+1 < len(vals); i++ {
			mid := float32((vals[i] + vals[i+1]) / 2)
			if math.IsInf(float64(mid), 0) {
				continue // the bf16 midpoint to 2^128 is not a float32
			}
			for _, f := range []float32{mid, math.Nextafter32(mid, 0), math.Nextafter32(mid, float32(math.Inf(1)))} {
				check(f)
				check(-f)
			}
		}
	}
}
