package safetensors

import (
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/attn-go/attn/tensor"
)

// Metadata returns a copy of the file's "__metadata__" strings, or nil when
// the file has none (or f is nil).
func (f *File) Metadata() map[string]string {
	if f == nil || f.meta == nil {
		return nil
	}
	return maps.Clone(f.meta)
}

// Names returns the tensor names in sorted order (a fresh slice).
func (f *File) Names() []string {
	if f == nil {
		return nil
	}
	return slices.Clone(f.names)
}

// Info returns the description of the named tensor (its Shape a copy).
func (f *File) Info(name string) (Info, bool) {
	if f == nil {
		return Info{}, false
	}
	info, ok := f.infos[name]
	if !ok {
		return Info{}, false
	}
	info.Shape = slices.Clone(info.Shape)
	if info.Shape == nil {
		info.Shape = []int{}
	}
	return info, true
}

// Has reports whether the file holds a tensor of that name.
func (f *File) Has(name string) bool {
	_, ok := f.Info(name)
	return ok
}

// Bytes returns the named tensor's raw little-endian bytes. The slice shares
// the file's memory (it is capped, so appending to it copies); do not modify
// it.
func (f *File) Bytes(name string) ([]byte, Info, error) {
	info, ok := f.Info(name)
	if !ok {
		return nil, Info{}, fmt.Errorf("%w %s", ErrNotFound, quote(name))
	}
	// Parse checked 0 ≤ Begin ≤ End ≤ len(f.data).
	return f.data[info.Begin:info.End:info.End], info, nil
}

const floatTypes = "F32, F16, BF16, F64"

func isFloat(d DType) bool { return d == F32 || d == F16 || d == BF16 || d == F64 }

// Float32s decodes the named tensor into a new []float32 and returns it with
// the shape. F32 is copied, F16 and BF16 are widened exactly, F64 is rounded
// to nearest; a finite F64 value too large for float32 is an error naming
// the element (NaN and ±Inf pass through). Other dtypes are an error.
func (f *File) Float32s(name string) ([]float32, []int, error) {
	b, info, err := f.Bytes(name)
	if err != nil {
		return nil, nil, err
	}
	if !isFloat(info.DType) {
		return nil, nil, fmt.Errorf("safetensors: tensor %s has dtype %s, want a float type (%s)", quote(name), info.DType, floatTypes)
	}
	out := make([]float32, len(b)/info.DType.Size())
	switch info.DType {
	case F32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case F16:
		for i := range out {
			out[i] = Float16ToFloat32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case BF16:
		for i := range out {
			out[i] = BFloat16ToFloat32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case F64:
		for i := range out {
			v := math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
			out[i] = float32(v)
			if math.IsInf(float64(out[i]), 0) && !math.IsInf(v, 0) {
				return nil, nil, fmt.Errorf("safetensors: tensor %s: F64 element %d is %g, out of float32 range (overflow)", quote(name), i, v)
			}
		}
	}
	return out, info.Shape, nil
}

// Tensor decodes the named tensor like Float32s and wraps the values as a
// contiguous tensor.
func (f *File) Tensor(name string) (*tensor.Tensor, error) {
	v, shape, err := f.Float32s(name)
	if err != nil {
		return nil, err
	}
	t, err := tensor.FromSlice(v, shape...)
	if err != nil { // cannot happen: Parse checked shape against the bytes
		return nil, fmt.Errorf("safetensors: tensor %s: %v", quote(name), err)
	}
	return t, nil
}

// Float64s decodes the named tensor (F64, F32, F16 or BF16) into a new
// []float64. Every conversion is exact.
func (f *File) Float64s(name string) ([]float64, []int, error) {
	b, info, err := f.Bytes(name)
	if err != nil {
		return nil, nil, err
	}
	if !isFloat(info.DType) {
		return nil, nil, fmt.Errorf("safetensors: tensor %s has dtype %s, want a float type (%s)", quote(name), info.DType, floatTypes)
	}
	out := make([]float64, len(b)/info.DType.Size())
	switch info.DType {
	case F64:
		for i := range out {
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
		}
	case F32:
		for i := range out {
			out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
		}
	case F16:
		for i := range out {
			out[i] = float64(Float16ToFloat32(binary.LittleEndian.Uint16(b[2*i:])))
		}
	case BF16:
		for i := range out {
			out[i] = float64(BFloat16ToFloat32(binary.LittleEndian.Uint16(b[2*i:])))
		}
	}
	return out, info.Shape, nil
}

// Bools decodes a BOOL or U8 tensor into a new []bool. Any byte other than 0
// or 1 is an error naming the element.
func (f *File) Bools(name string) ([]bool, []int, error) {
	b, info, err := f.Bytes(name)
	if err != nil {
		return nil, nil, err
	}
	if info.DType != BOOL && info.DType != U8 {
		return nil, nil, fmt.Errorf("safetensors: tensor %s has dtype %s, want BOOL or U8", quote(name), info.DType)
	}
	out := make([]bool, len(b))
	for i, c := range b {
		switch c {
		case 0:
		case 1:
			out[i] = true
		default:
			return nil, nil, fmt.Errorf("safetensors: tensor %s: element %d is byte %d, not a valid bool (want 0 or 1)", quote(name), i, c)
		}
	}
	return out, info.Shape, nil
}

// Int64s decodes an integer tensor (I64, I32, I16, I8, U64, U32, U16, U8)
// into a new []int64. A U64 value above math.MaxInt64 is an error naming the
// element.
func (f *File) Int64s(name string) ([]int64, []int, error) {
	b, info, err := f.Bytes(name)
	if err != nil {
		return nil, nil, err
	}
	switch info.DType {
	case I64, I32, I16, I8, U64, U32, U16, U8:
	default:
		return nil, nil, fmt.Errorf("safetensors: tensor %s has dtype %s, want an integer type (I64, I32, I16, I8, U64, U32, U16, U8)", quote(name), info.DType)
	}
	le := binary.LittleEndian
	out := make([]int64, len(b)/info.DType.Size())
	switch info.DType {
	case I64:
		for i := range out {
			out[i] = int64(le.Uint64(b[8*i:]))
		}
	case I32:
		for i := range out {
			out[i] = int64(int32(le.Uint32(b[4*i:])))
		}
	case I16:
		for i := range out {
			out[i] = int64(int16(le.Uint16(b[2*i:])))
		}
	case I8:
		for i := range out {
			out[i] = int64(int8(b[i]))
		}
	case U64:
		for i := range out {
			v := le.Uint64(b[8*i:])
			if v > math.MaxInt64 {
				return nil, nil, fmt.Errorf("safetensors: tensor %s: U64 element %d is %d, out of int64 range (overflow)", quote(name), i, v)
			}
			out[i] = int64(v)
		}
	case U32:
		for i := range out {
			out[i] = int64(le.Uint32(b[4*i:]))
		}
	case U16:
		for i := range out {
			out[i] = int64(le.Uint16(b[2*i:]))
		}
	case U8:
		for i := range out {
			out[i] = int64(b[i])
		}
	}
	return out, info.Shape, nil
}
