package safetensors

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"

	"github.com/attn-go/attn/tensor"
)

// fuzzSeeds returns valid files (several dtypes, metadata, scalar and
// zero-size tensors) and malformed ones to start the fuzzer from.
func fuzzSeeds(t testing.TB) [][]byte {
	write := func(entries []Entry, meta map[string]string) []byte {
		var buf bytes.Buffer
		if err := Write(&buf, entries, meta); err != nil {
			t.Fatalf("seed: %v", err)
		}
		return buf.Bytes()
	}
	mixed := write([]Entry{
		Float32Entry("f32", []int{2, 2}, []float32{1, -2, 3.5, 0}),
		{Name: "f16", DType: F16, Shape: []int{3}, Data: []byte{0, 0x3c, 0, 0xc0, 1, 0}},
		{Name: "bf16", DType: BF16, Shape: []int{1}, Data: []byte{0x80, 0x3f}},
		Float64Entry("f64", []int{}, []float64{2.5}),
		Int64Entry("i64", []int{2}, []int64{-1, 1 << 40}),
		{Name: "i8", DType: I8, Shape: []int{2}, Data: []byte{0x80, 7}},
		{Name: "u16", DType: U16, Shape: []int{1}, Data: []byte{1, 2}},
		BoolEntry("mask", []int{3}, []bool{true, false, true}),
		Float32Entry("empty", []int{0, 4}, nil),
	}, map[string]string{"format": "pt", "note": "x\"y"})
	return [][]byte{
		mixed,
		write(nil, nil),
		write([]Entry{Float32Entry("a", []int{1}, []float32{1})}, nil),
		write([]Entry{{Name: "z", DType: U8, Shape: []int{0}}, {Name: "u", DType: U32, Shape: []int{1}, Data: []byte{1, 2, 3, 4}}}, map[string]string{"k": ""}),
		// Valid, hand-written: zero-size tensor inside another, reversed layout, spaces.
		raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},"b":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"z":{"dtype":"I32","shape":[0],"data_offsets":[6,6]}}   `, make([]byte, 12)...),
		// Valid: escapes, non-ASCII names, whitespace inside the object, metadata last.
		raw("{\n \"caf\\u00e9\\n\\\"\" : {\"dtype\":\"BF16\", \"shape\":[1,1], \"data_offsets\":[0,2]},\n \"日本\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[2,4]},\"__metadata__\":{\"\\ud83d\\ude00\":\"\\t\"}\n}  ", 0x80, 0x3f, 1, 0),
		// Malformed.
		mixed[:len(mixed)-1],
		raw(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)...),
		raw(`{"a":{"dtype":"F32","shape":[1048576,1048576],"data_offsets":[0,4]}}`, 0, 0, 0, 0),
		raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)...),
		raw(`{"__metadata__":{"k":1}}`),
		raw(`{} x`),
		{1, 0, 0},
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		file, err := Parse(in)
		if err != nil {
			if file != nil {
				t.Fatal("Parse returned a File with an error")
			}
			return
		}
		dataStart := 8 + int(binary.LittleEndian.Uint64(in))

		names := file.Names()
		if !slices.IsSorted(names) {
			t.Fatalf("names not sorted: %q", names)
		}
		var entries []Entry
		for _, name := range names {
			b, info, err := file.Bytes(name)
			if err != nil {
				t.Fatalf("Bytes(%q): %v", name, err)
			}
			numel, err := tensor.NumElements(info.Shape...)
			if err != nil {
				t.Fatalf("%q: accepted shape %v: %v", name, info.Shape, err)
			}
			if len(b) != numel*info.DType.Size() || info.DType.Size() == 0 {
				t.Fatalf("%q: %d bytes for shape %v of %s", name, len(b), info.Shape, info.DType)
			}
			if info.Begin < 0 || info.End != info.Begin+int64(len(b)) || dataStart+int(info.End) > len(in) {
				t.Fatalf("%q: range [%d,%d] outside the %d-byte input (data at %d)", name, info.Begin, info.End, len(in), dataStart)
			}
			if len(b) > 0 && &b[0] != &in[dataStart+int(info.Begin)] {
				t.Fatalf("%q: Bytes does not point into the input at its offset", name)
			}
			// The typed accessors either fail or return numel values.
			if v, _, err := file.Float32s(name); err == nil && len(v) != numel {
				t.Fatalf("%q: Float32s gave %d values, want %d", name, len(v), numel)
			}
			if v, _, err := file.Float64s(name); err == nil && len(v) != numel {
				t.Fatalf("%q: Float64s gave %d values, want %d", name, len(v), numel)
			}
			if v, _, err := file.Int64s(name); err == nil && len(v) != numel {
				t.Fatalf("%q: Int64s gave %d values, want %d", name, len(v), numel)
			}
			if v, _, err := file.Bools(name); err == nil && len(v) != numel {
				t.Fatalf("%q: Bools gave %d values, want %d", name, len(v), numel)
			}
			if isFloat(info.DType) {
				if _, _, err := file.Float64s(name); err != nil {
					t.Fatalf("%q: Float64s of %s failed: %v", name, info.DType, err)
				}
			}
			entries = append(entries, Entry{Name: name, DType: info.DType, Shape: info.Shape, Data: b})
		}

		// Re-encode and parse again: the same tensors and metadata.
		meta := file.Metadata()
		var out bytes.Buffer
		if err := Write(&out, entries, meta); err != nil {
			t.Fatalf("re-encoding a parsed file failed: %v", err)
		}
		again, err := Parse(out.Bytes())
		if err != nil {
			t.Fatalf("parsing the re-encoded file failed: %v", err)
		}
		if got := again.Names(); !slices.Equal(got, names) {
			t.Fatalf("names %q became %q", names, got)
		}
		for _, e := range entries {
			b, info, err := again.Bytes(e.Name)
			if err != nil || info.DType != e.DType || !slices.Equal(info.Shape, e.Shape) || !bytes.Equal(b, e.Data) {
				t.Fatalf("%q: %s %v became %s %v (err %v)", e.Name, e.DType, e.Shape, info.DType, info.Shape, err)
			}
		}
		if m := again.Metadata(); len(m) != len(meta) {
			t.Fatalf("metadata %q became %q", meta, m)
		} else {
			for k, v := range meta {
				if w, ok := m[k]; !ok || w != v {
					t.Fatalf("metadata %q became %q", meta, m)
				}
			}
		}
		// Writing is deterministic, and a written file is a fixed point.
		var out2 bytes.Buffer
		if err := Write(&out2, entries, meta); err != nil || !bytes.Equal(out.Bytes(), out2.Bytes()) {
			t.Fatalf("Write is not deterministic (err %v)", err)
		}
	})
}
