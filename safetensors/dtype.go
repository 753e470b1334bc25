package safetensors

import "math"

// DType is a safetensors element type, spelled as in the header ("F32").
type DType string

// The element types this package reads and writes. Other spellings that
// appear in the wild (F8_E4M3, F8_E5M2, C64, ...) are rejected as unknown.
const (
	F64  DType = "F64"
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
	I64  DType = "I64"
	I32  DType = "I32"
	I16  DType = "I16"
	I8   DType = "I8"
	U64  DType = "U64"
	U32  DType = "U32"
	U16  DType = "U16"
	U8   DType = "U8"
	BOOL DType = "BOOL"
)

// Size returns the number of bytes one element of d takes, or 0 when d is
// not one of the known dtypes.
func (d DType) Size() int {
	switch d {
	case F64, I64, U64:
		return 8
	case F32, I32, U32:
		return 4
	case F16, BF16, I16, U16:
		return 2
	case I8, U8, BOOL:
		return 1
	}
	return 0
}

// Float16ToFloat32 converts IEEE 754 binary16 bits to a float32. Every
// binary16 value, subnormals included, is exactly representable as a
// float32, so the conversion is exact. ±Inf map to ±Inf; a NaN maps to a
// NaN carrying the same sign and payload (shifted into the top mantissa
// bits), so Float32ToFloat16 gives the original bits back.
func Float16ToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0 && mant == 0: // ±0
		return math.Float32frombits(sign)
	case exp == 0:
		// Subnormal: mant·2^-24. Shift the leading 1 up to the implicit bit
		// position (bit 10), lowering the exponent once per shift; the result
		// is a normal float32.
		e := int32(-14)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		mant &= 0x3ff
		return math.Float32frombits(sign | uint32(e+127)<<23 | mant<<13)
	default:
		return math.Float32frombits(sign | (exp-15+127)<<23 | mant<<13)
	}
}

// Float32ToFloat16 converts a float32 to IEEE 754 binary16 bits, rounding to
// nearest with ties to even. Finite values too large for binary16 (those that
// round to 65536 or beyond) become ±Inf, values too small become ±0 or a
// subnormal. A NaN stays a NaN: its sign and the top 10 mantissa bits are
// kept, and the quiet bit is set if that would otherwise leave a zero
// mantissa (which would read as Inf).
func Float32ToFloat16(f float32) uint16 {
	bits := math.Float32bits(f)
	sign := uint16(bits>>16) & 0x8000
	exp := int32(bits>>23) & 0xff
	mant := bits & 0x7fffff

	if exp == 0xff {
		if mant == 0 {
			return sign | 0x7c00 // ±Inf
		}
		m := uint16(mant >> 13)
		if m == 0 {
			m = 0x200
		}
		return sign | 0x7c00 | m
	}
	if exp == 0 {
		// ±0 or a float32 subnormal (< 2^-126), far below half of the
		// smallest binary16 subnormal (2^-25): rounds to ±0.
		return sign
	}

	e := exp - 127 // unbiased exponent; value = 1.mant · 2^e
	if e > 15 {
		return sign | 0x7c00 // ≥ 2^16: overflow
	}
	if e >= -14 {
		// Normal binary16: keep the top 10 of the 23 mantissa bits and round
		// on the 13 dropped ones. A carry out of the mantissa bumps the
		// exponent, and one out of exponent 30 gives 0x7c00, which is Inf.
		h := uint32(e+15)<<10 | mant>>13
		h = roundShifted(h, mant&0x1fff, 13)
		return sign | uint16(h)
	}

	// Subnormal binary16: the value is m·2^(e-23) with m the 24-bit
	// significand, and the subnormal unit is 2^-24, so the binary16 mantissa
	// is m shifted right by s = -e-1 (≥ 14).
	m := mant | 0x800000
	s := uint(-e - 1)
	if s > 24 {
		return sign // below a quarter of the smallest subnormal
	}
	h := roundShifted(m>>s, m&(1<<s-1), s)
	return sign | uint16(h)
}

// roundShifted rounds h, the result of shifting some value right by s bits
// with rem the s bits shifted out, to nearest with ties to even.
func roundShifted(h, rem uint32, s uint) uint32 {
	half := uint32(1) << (s - 1)
	if rem > half || (rem == half && h&1 == 1) {
		h++
	}
	return h
}

// BFloat16ToFloat32 converts bfloat16 bits (the top half of a float32) to a
// float32. It is exact.
func BFloat16ToFloat32(h uint16) float32 {
	return math.Float32frombits(uint32(h) << 16)
}

// Float32ToBFloat16 converts a float32 to bfloat16 bits, rounding to nearest
// with ties to even; values that round past the largest bfloat16 become ±Inf.
// A NaN stays a NaN (sign and top payload bits kept, quiet bit set if the
// kept payload would be zero).
func Float32ToBFloat16(f float32) uint16 {
	bits := math.Float32bits(f)
	if bits&0x7f800000 == 0x7f800000 && bits&0x7fffff != 0 {
		h := uint16(bits >> 16)
		if h&0x7f == 0 {
			h |= 0x40
		}
		return h
	}
	// Adding 0x7fff plus the lowest kept bit rounds to nearest, ties to even;
	// a carry may run into the exponent, which is the correct result (up to
	// and including Inf).
	bits += 0x7fff + (bits>>16)&1
	return uint16(bits >> 16)
}
