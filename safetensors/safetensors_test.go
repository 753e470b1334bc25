package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/attn-go/attn/tensor"
)

// raw assembles a file from a header string and data bytes, with the header
// length prefix set to len(header).
func raw(header string, data ...byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

// entryBytes returns n deterministic pseudo-random bytes.
func entryBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 42))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func mustWrite(t *testing.T, entries []Entry, meta map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, entries, meta); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return buf.Bytes()
}

func mustParse(t *testing.T, b []byte) *File {
	t.Helper()
	f, err := Parse(b)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return f
}

func TestDTypeSize(t *testing.T) {
	want := map[DType]int{F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1,
		U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1, "F8_E4M3": 0, "": 0, "f32": 0}
	for d, n := range want {
		if got := d.Size(); got != n {
			t.Errorf("%q.Size() = %d, want %d", d, got, n)
		}
	}
}

func TestRoundTripEveryDType(t *testing.T) {
	dtypes := []DType{F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL}
	shapes := [][]int{{2, 3}, {}, {0}, {4}, {1, 2, 1}, {3, 0, 2}}
	var entries []Entry
	for i, d := range dtypes {
		for j, shape := range shapes {
			n, _ := tensor.NumElements(shape...)
			data := entryBytes(uint64(i*100+j), n*d.Size())
			if d == BOOL {
				for k := range data {
					data[k] &= 1
				}
			}
			entries = append(entries, Entry{Name: fmt.Sprintf("%s/%d", d, j), DType: d, Shape: shape, Data: data})
		}
	}
	meta := map[string]string{"format": "pt", "note": "quote \" backslash \\ newline \n tab \t ctl \x01 é 日本", "": "empty key"}
	out := mustWrite(t, entries, meta)

	// Deterministic: another write, with the entries in a different order,
	// gives the same bytes.
	shuffled := slices.Clone(entries)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	if again := mustWrite(t, shuffled, maps2(meta)); !bytes.Equal(out, again) {
		t.Fatal("Write output differs between runs / entry orders")
	}

	// Layout: header padded with spaces to a multiple of 8.
	n := binary.LittleEndian.Uint64(out)
	if n%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", n)
	}
	if hdr := string(out[8 : 8+n]); !strings.HasPrefix(hdr, `{"__metadata__":{`) || strings.TrimRight(hdr, " ") != strings.TrimSpace(hdr) {
		t.Errorf("unexpected header layout: %.80q", hdr)
	}

	f := mustParse(t, out)
	if got := f.Metadata(); !reflect.DeepEqual(got, meta) {
		t.Errorf("metadata = %q, want %q", got, meta)
	}
	var wantNames []string
	for _, e := range entries {
		wantNames = append(wantNames, e.Name)
	}
	slices.Sort(wantNames)
	if got := f.Names(); !slices.Equal(got, wantNames) {
		t.Errorf("names = %q, want %q", got, wantNames)
	}
	for _, e := range entries {
		b, info, err := f.Bytes(e.Name)
		if err != nil {
			t.Fatalf("Bytes(%q): %v", e.Name, err)
		}
		if info.DType != e.DType || !slices.Equal(info.Shape, e.Shape) || info.Name != e.Name {
			t.Errorf("%s: info = %+v, want dtype %s shape %v", e.Name, info, e.DType, e.Shape)
		}
		if !bytes.Equal(b, e.Data) {
			t.Errorf("%s: bytes differ", e.Name)
		}
		if !f.Has(e.Name) {
			t.Errorf("Has(%q) = false", e.Name)
		}
	}
	// Data is laid out in sorted-name order from offset 0.
	var pos int64
	for _, name := range f.Names() {
		info, _ := f.Info(name)
		if info.Begin != pos {
			t.Errorf("%s begins at %d, want %d (sorted-name layout)", name, info.Begin, pos)
		}
		pos = info.End
	}
}

func maps2(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestTypedRoundTrip(t *testing.T) {
	f32 := []float32{1, -2.5, float32(math.Inf(1)), 0, float32(math.Copysign(0, -1)), 1e-40, math.MaxFloat32}
	f64 := []float64{math.Pi, -1e300, math.Inf(-1), 5e-324, 0}
	bools := []bool{true, false, false, true}
	ints := []int64{math.MinInt64, -1, 0, 1, math.MaxInt64, 123456789012}
	tt := tensor.Must(tensor.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3))
	entries := []Entry{
		Float32Entry("f32", []int{7}, f32),
		Float64Entry("f64", []int{5, 1}, f64),
		BoolEntry("bool", []int{2, 2}, bools),
		Int64Entry("i64", []int{6}, ints),
		TensorEntry("t", tensor.Must(tt.Permute(1, 0))), // a strided view: written in row-major order
		Float32Entry("scalar", []int{}, []float32{42}),
		Float32Entry("empty", []int{0, 5}, nil),
	}
	f := mustParse(t, mustWrite(t, entries, nil))
	if m := f.Metadata(); m != nil {
		t.Errorf("metadata = %v, want nil", m)
	}

	gotF32, shape, err := f.Float32s("f32")
	if err != nil || !slices.Equal(shape, []int{7}) || !sameFloat32s(gotF32, f32) {
		t.Errorf("Float32s(f32) = %v %v %v", gotF32, shape, err)
	}
	gotF64, shape, err := f.Float64s("f64")
	if err != nil || !slices.Equal(shape, []int{5, 1}) || !slices.Equal(gotF64, f64) {
		t.Errorf("Float64s(f64) = %v %v %v", gotF64, shape, err)
	}
	// F64 -> float32 rounds; -1e300 is out of range, so only the good tensor.
	gotB, shape, err := f.Bools("bool")
	if err != nil || !slices.Equal(shape, []int{2, 2}) || !slices.Equal(gotB, bools) {
		t.Errorf("Bools = %v %v %v", gotB, shape, err)
	}
	gotI, shape, err := f.Int64s("i64")
	if err != nil || !slices.Equal(shape, []int{6}) || !slices.Equal(gotI, ints) {
		t.Errorf("Int64s = %v %v %v", gotI, shape, err)
	}
	tv, err := f.Tensor("t")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tv.Shape(), []int{3, 2}) || !slices.Equal(tv.Values(), []float32{1, 4, 2, 5, 3, 6}) || !tv.IsContiguous() {
		t.Errorf("Tensor(t) = %v %v", tv.Shape(), tv.Values())
	}
	sc, shape, err := f.Float32s("scalar")
	if err != nil || len(shape) != 0 || !slices.Equal(sc, []float32{42}) {
		t.Errorf("scalar = %v %v %v", sc, shape, err)
	}
	if st, err := f.Tensor("scalar"); err != nil || st.Rank() != 0 || st.Len() != 1 {
		t.Errorf("scalar tensor: %v", err)
	}
	em, shape, err := f.Float32s("empty")
	if err != nil || len(em) != 0 || !slices.Equal(shape, []int{0, 5}) {
		t.Errorf("empty = %v %v %v", em, shape, err)
	}
	// Float64s of an F32 tensor is exact.
	w64, _, err := f.Float64s("f32")
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range f32 {
		if w64[i] != float64(v) && !(math.IsNaN(w64[i]) && math.IsNaN(float64(v))) {
			t.Errorf("Float64s(f32)[%d] = %v, want %v", i, w64[i], v)
		}
	}
}

func sameFloat32s(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// TestDecodeEveryDType checks each accessor's decoding of hand-made
// little-endian bytes, for every dtype it accepts.
func TestDecodeEveryDType(t *testing.T) {
	le := binary.LittleEndian
	entries := []Entry{
		{Name: "i32", DType: I32, Shape: []int{2}, Data: le.AppendUint32(le.AppendUint32(nil, uint32(0xffffffff)), 7)},
		{Name: "i16", DType: I16, Shape: []int{2}, Data: le.AppendUint16(le.AppendUint16(nil, 0x8000), 7)},
		{Name: "i8", DType: I8, Shape: []int{2}, Data: []byte{0x80, 0x7f}},
		{Name: "u64", DType: U64, Shape: []int{1}, Data: le.AppendUint64(nil, math.MaxInt64)},
		{Name: "u64big", DType: U64, Shape: []int{2}, Data: le.AppendUint64(le.AppendUint64(nil, 1), 1<<63)},
		{Name: "u32", DType: U32, Shape: []int{1}, Data: le.AppendUint32(nil, 0xffffffff)},
		{Name: "u16", DType: U16, Shape: []int{1}, Data: le.AppendUint16(nil, 0xffff)},
		{Name: "u8", DType: U8, Shape: []int{3}, Data: []byte{0, 1, 255}},
		{Name: "u8bool", DType: U8, Shape: []int{2}, Data: []byte{1, 0}},
		{Name: "f16", DType: F16, Shape: []int{3}, Data: le.AppendUint16(le.AppendUint16(le.AppendUint16(nil, 0x3c00), 0xc000), 0x0001)},
		{Name: "bf16", DType: BF16, Shape: []int{2}, Data: le.AppendUint16(le.AppendUint16(nil, 0x3f80), 0xff80)},
		{Name: "f64", DType: F64, Shape: []int{4}, Data: le.AppendUint64(le.AppendUint64(le.AppendUint64(le.AppendUint64(nil,
			math.Float64bits(0.1)), math.Float64bits(math.NaN())), math.Float64bits(math.Inf(1))), math.Float64bits(1e-50))},
		{Name: "f64big", DType: F64, Shape: []int{2}, Data: le.AppendUint64(le.AppendUint64(nil, math.Float64bits(1)), math.Float64bits(-1e39))},
		{Name: "bool2", DType: BOOL, Shape: []int{3}, Data: []byte{1, 0, 2}},
	}
	f := mustParse(t, mustWrite(t, entries, nil))

	ints := map[string][]int64{
		"i32": {-1, 7}, "i16": {-32768, 7}, "i8": {-128, 127}, "u64": {math.MaxInt64},
		"u32": {0xffffffff}, "u16": {0xffff}, "u8": {0, 1, 255},
	}
	for name, want := range ints {
		got, _, err := f.Int64s(name)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("Int64s(%s) = %v, %v; want %v", name, got, err, want)
		}
	}
	if got, _, err := f.Bools("u8bool"); err != nil || !slices.Equal(got, []bool{true, false}) {
		t.Errorf("Bools(u8bool) = %v %v", got, err)
	}
	if got, _, err := f.Float32s("f16"); err != nil || !slices.Equal(got, []float32{1, -2, 0x1p-24}) {
		t.Errorf("Float32s(f16) = %v %v", got, err)
	}
	if got, _, err := f.Float64s("f16"); err != nil || !slices.Equal(got, []float64{1, -2, 0x1p-24}) {
		t.Errorf("Float64s(f16) = %v %v", got, err)
	}
	if got, _, err := f.Float32s("bf16"); err != nil || !slices.Equal(got, []float32{1, float32(math.Inf(-1))}) {
		t.Errorf("Float32s(bf16) = %v %v", got, err)
	}
	got, _, err := f.Float32s("f64")
	if err != nil || got[0] != float32(0.1) || !math.IsNaN(float64(got[1])) || !math.IsInf(float64(got[2]), 1) || got[3] != 0 {
		t.Errorf("Float32s(f64) = %v %v (NaN and Inf must pass through)", got, err)
	}

	// Errors that name the tensor and the element.
	errCases := []struct {
		name  string
		call  func() error
		wants []string
	}{
		{"f64 overflow", func() error { _, _, err := f.Float32s("f64big"); return err }, []string{`"f64big"`, "element 1", "overflow"}},
		{"u64 overflow", func() error { _, _, err := f.Int64s("u64big"); return err }, []string{`"u64big"`, "element 1", "overflow"}},
		{"bad bool", func() error { _, _, err := f.Bools("bool2"); return err }, []string{`"bool2"`, "element 2", "bool"}},
		{"bad u8 bool", func() error { _, _, err := f.Bools("u8"); return err }, []string{`"u8"`, "element 2", "bool"}},
		{"float of int", func() error { _, _, err := f.Float32s("i32"); return err },
			[]string{`safetensors: tensor "i32" has dtype I32, want a float type (F32, F16, BF16, F64)`}},
		{"tensor of int", func() error { _, err := f.Tensor("u8"); return err }, []string{`"u8"`, "dtype U8"}},
		{"float64 of int", func() error { _, _, err := f.Float64s("i8"); return err }, []string{`"i8"`, "float type"}},
		{"int of float", func() error { _, _, err := f.Int64s("f16"); return err }, []string{`"f16"`, "integer type"}},
		{"int of bool", func() error { _, _, err := f.Int64s("bool2"); return err }, []string{`"bool2"`, "integer type"}},
		{"bool of int", func() error { _, _, err := f.Bools("i8"); return err }, []string{`"i8"`, "want BOOL"}},
	}
	for _, c := range errCases {
		err := c.call()
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range c.wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not contain %q", c.name, err, w)
			}
		}
	}
}

func TestNotFound(t *testing.T) {
	f := mustParse(t, mustWrite(t, []Entry{Float32Entry("a", []int{1}, []float32{1})}, nil))
	calls := map[string]func() error{
		"Bytes":    func() error { _, _, err := f.Bytes("x"); return err },
		"Float32s": func() error { _, _, err := f.Float32s("x"); return err },
		"Float64s": func() error { _, _, err := f.Float64s("x"); return err },
		"Int64s":   func() error { _, _, err := f.Int64s("x"); return err },
		"Bools":    func() error { _, _, err := f.Bools("x"); return err },
		"Tensor":   func() error { _, err := f.Tensor("x"); return err },
	}
	for name, call := range calls {
		err := call()
		if !errors.Is(err, ErrNotFound) || err.Error() != `safetensors: no tensor named "x"` {
			t.Errorf("%s: err = %v, want ErrNotFound with exact message", name, err)
		}
	}
	if f.Has("x") {
		t.Error("Has(x) = true")
	}
	if _, ok := f.Info("x"); ok {
		t.Error("Info(x) ok")
	}
	var nilFile *File
	if nilFile.Metadata() != nil || nilFile.Names() != nil || nilFile.Has("a") {
		t.Error("nil *File accessors should be empty")
	}
	if _, _, err := nilFile.Bytes("a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("nil *File Bytes: %v", err)
	}
}

// TestSharedBytes checks that Bytes shares the input and is capped, and that
// Info and Metadata return copies.
func TestSharedBytes(t *testing.T) {
	in := mustWrite(t, []Entry{
		{Name: "a", DType: U8, Shape: []int{2}, Data: []byte{1, 2}},
		{Name: "b", DType: U8, Shape: []int{1}, Data: []byte{3}},
	}, map[string]string{"k": "v"})
	f := mustParse(t, in)
	a, _, _ := f.Bytes("a")
	if &a[0] != &in[len(in)-3] {
		t.Error("Bytes does not share the input slice")
	}
	if cap(a) != 2 {
		t.Errorf("cap(Bytes) = %d, want 2 (capped)", cap(a))
	}
	_ = append(a, 99)
	if b, _, _ := f.Bytes("b"); b[0] != 3 {
		t.Error("append to one tensor's bytes overwrote the next")
	}
	info, _ := f.Info("a")
	info.Shape[0] = 100
	if again, _ := f.Info("a"); again.Shape[0] != 2 {
		t.Error("Info shape is not a copy")
	}
	m := f.Metadata()
	m["k"] = "changed"
	if f.Metadata()["k"] != "v" {
		t.Error("Metadata is not a copy")
	}
}

func TestWriteValidation(t *testing.T) {
	ok := Float32Entry("ok", []int{1}, []float32{1})
	cases := []struct {
		name    string
		entries []Entry
		meta    map[string]string
		wants   []string
	}{
		{"empty name", []Entry{ok, Float32Entry("", []int{1}, []float32{1})}, nil, []string{"empty tensor name"}},
		{"duplicate", []Entry{ok, Float32Entry("x", []int{1}, []float32{1}), Float32Entry("x", []int{1}, []float32{2})}, nil, []string{`"x"`, "duplicate"}},
		{"reserved", []Entry{Float32Entry("__metadata__", []int{1}, []float32{1})}, nil, []string{"__metadata__", "reserved"}},
		{"unknown dtype", []Entry{{Name: "x", DType: "F8", Shape: []int{1}, Data: []byte{1}}}, nil, []string{`"x"`, "unknown dtype"}},
		{"short data", []Entry{Float32Entry("x", []int{2, 2}, []float32{1, 2, 3})}, nil, []string{`"x"`, "size mismatch"}},
		{"long data", []Entry{{Name: "x", DType: F16, Shape: []int{}, Data: []byte{1, 2, 3}}}, nil, []string{`"x"`, "size mismatch"}},
		{"negative shape", []Entry{{Name: "x", DType: U8, Shape: []int{-1}}}, nil, []string{`"x"`, "negative"}},
		{"overflow shape", []Entry{{Name: "x", DType: U8, Shape: []int{1 << 30, 1 << 30}}}, nil, []string{`"x"`, "overflow"}},
		{"bad utf8 name", []Entry{Float32Entry("x\xff", []int{1}, []float32{1})}, nil, []string{"UTF-8"}},
		{"bad utf8 metadata", []Entry{ok}, map[string]string{"k": "\xff"}, []string{"header", "UTF-8"}},
		{"nil tensor", []Entry{TensorEntry("x", nil)}, nil, []string{`"x"`, "size mismatch"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Write(&buf, c.entries, c.meta)
			if err == nil {
				t.Fatal("Write succeeded")
			}
			if buf.Len() != 0 {
				t.Errorf("Write wrote %d bytes before failing validation", buf.Len())
			}
			for _, w := range c.wants {
				if !strings.Contains(err.Error(), w) || !strings.HasPrefix(err.Error(), "safetensors: ") {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n < len(p) {
		return 0, errors.New("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

func TestWriteError(t *testing.T) {
	err := Write(&failWriter{n: 10}, []Entry{Float32Entry("x", []int{1 << 16}, make([]float32, 1<<16))}, nil)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Write to a failing writer: %v", err)
	}
}

func TestEmptyFile(t *testing.T) {
	out := mustWrite(t, nil, nil)
	if want := raw("{}      "); !bytes.Equal(out, want) {
		t.Errorf("empty file = %q, want %q", out, want)
	}
	f := mustParse(t, out)
	if len(f.Names()) != 0 || f.Metadata() != nil {
		t.Errorf("empty file parsed to %v %v", f.Names(), f.Metadata())
	}
}

// TestParseStrictness has one case per strictness rule. Each case checks
// that the error names the tensor (or says "header") and says what is wrong.
func TestParseStrictness(t *testing.T) {
	f32 := func(name string, shape string, begin, end int) string {
		return fmt.Sprintf(`%q:{"dtype":"F32","shape":%s,"data_offsets":[%d,%d]}`, name, shape, begin, end)
	}
	d8 := make([]byte, 8)
	lenPrefix := func(n uint64, rest string) []byte {
		return append(binary.LittleEndian.AppendUint64(nil, n), rest...)
	}
	cases := []struct {
		name  string
		file  []byte
		wants []string // substrings of the error message
	}{
		// The length prefix.
		{"short file", []byte{1, 0, 0}, []string{"header", "shorter"}},
		{"empty file", nil, []string{"header", "shorter"}},
		{"header over max", lenPrefix(MaxHeaderSize+1, "{}"), []string{"header", "maximum"}},
		{"header length huge", lenPrefix(math.MaxUint64, "{}"), []string{"header", "maximum"}},
		{"header beyond file", lenPrefix(100, "{}"), []string{"header", "exceeds", "truncated"}},

		// The header as a whole.
		{"invalid utf8", raw("{\"a\xff\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}", d8[:4]...), []string{"header", "UTF-8"}},
		{"empty header", raw(""), []string{"header", "object"}},
		{"spaces only", raw("        "), []string{"header", "object"}},
		{"array header", raw(`[1,2]`), []string{"header", "object"}},
		{"string header", raw(`"x"`), []string{"header", "object"}},
		{"leading space", raw(` {}`), []string{"header", "object"}},
		{"trailing garbage", raw(`{} x`), []string{"header", "invalid JSON"}},
		{"two objects", raw(`{}{}`), []string{"header", "invalid JSON"}},
		{"trailing newline", raw("{}\n"), []string{"header", "trailing"}},
		{"trailing tab", raw("{}\t  "), []string{"header", "trailing"}},
		{"trailing NUL", raw("{}\x00"), []string{"header", "invalid JSON"}},
		{"truncated json", raw(`{"a":{"dtype":"F32"`), []string{"header", "invalid JSON"}},
		{"trailing comma", raw(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},}`, d8[:4]...), []string{"header", "invalid JSON"}},

		// Duplicates at every level.
		{"duplicate tensor", raw(`{`+f32("a", "[1]", 0, 4)+`,`+f32("a", "[1]", 4, 8)+`}`, d8...), []string{`"a"`, "duplicate"}},
		{"duplicate metadata key", raw(`{"__metadata__":{"k":"1","k":"2"}}`), []string{"header", "duplicate", `"k"`}},
		{"duplicate __metadata__", raw(`{"__metadata__":{},"__metadata__":{}}`), []string{"header", "duplicate"}},
		{"duplicate dtype field", raw(`{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, d8[:4]...), []string{`"a"`, "duplicate", "dtype"}},
		{"duplicate shape field", raw(`{"a":{"dtype":"F32","shape":[1],"shape":[1],"data_offsets":[0,4]}}`, d8[:4]...), []string{`"a"`, "duplicate", "shape"}},
		{"duplicate offsets field", raw(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"data_offsets":[0,4]}}`, d8[:4]...), []string{`"a"`, "duplicate", "data_offsets"}},

		// Names and metadata.
		{"empty name", raw(`{`+f32("", "[1]", 0, 4)+`}`, d8[:4]...), []string{"header", "empty tensor name"}},
		{"metadata string", raw(`{"__metadata__":"pt"}`), []string{"header", "__metadata__", "object"}},
		{"metadata array", raw(`{"__metadata__":["pt"]}`), []string{"header", "__metadata__", "object"}},
		{"metadata null", raw(`{"__metadata__":null}`), []string{"header", "__metadata__", "object"}},
		{"metadata number value", raw(`{"__metadata__":{"format":1}}`), []string{"header", `"format"`, "string"}},
		{"metadata nested value", raw(`{"__metadata__":{"format":{"a":"b"}}}`), []string{"header", `"format"`, "string"}},
		{"metadata null value", raw(`{"__metadata__":{"format":null}}`), []string{"header", `"format"`, "string"}},

		// Tensor entries.
		{"entry not object", raw(`{"a":[0,4]}`, d8[:4]...), []string{`"a"`, "object"}},
		{"entry string", raw(`{"a":"F32"}`), []string{`"a"`, "object"}},
		{"missing dtype", raw(`{"a":{"shape":[1],"data_offsets":[0,4]}}`, d8[:4]...), []string{`"a"`, "missing", "dtype"}},
		{"missing shape", raw(`{"a":{"dtype":"F32","data_offsets":[0,4]}}`, d8[:4]...), []string{`"a"`, "missing", "shape"}},
		{"missing offsets", raw(`{"a":{"dtype":"F32","shape":[1]}}`, d8[:4]...), []string{`"a"`, "missing", "data_offsets"}},
		{"unknown field", raw(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}}`, d8[:4]...), []string{`"a"`, "unknown field", `"extra"`}},
		{"unknown dtype", raw(`{"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}`, d8[:1]...), []string{`"a"`, "unknown dtype", "F8_E4M3"}},
		{"lowercase dtype", raw(`{"a":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}`, d8[:4]...), []string{`"a"`, "unknown dtype"}},
		{"dtype not string", raw(`{"a":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}`, d8[:4]...), []string{`"a"`, "dtype", "want a string"}},

		// Shapes.
		{"shape float", raw(`{`+f32("a", "[2.5]", 0, 10)+`}`, make([]byte, 10)...), []string{`"a"`, "shape", "not an integer"}},
		{"shape float 2.0", raw(`{`+f32("a", "[2.0]", 0, 8)+`}`, d8...), []string{`"a"`, "shape", "not an integer"}},
		{"shape exponent", raw(`{`+f32("a", "[2e0]", 0, 8)+`}`, d8...), []string{`"a"`, "shape", "not an integer"}},
		{"shape negative", raw(`{` + f32("a", "[-1]", 0, 0) + `}`), []string{`"a"`, "shape", "negative"}},
		{"shape negative zero", raw(`{` + f32("a", "[-0]", 0, 0) + `}`), []string{`"a"`, "shape", "negative"}},
		{"shape over 2^53", raw(`{` + f32("a", "[0,9007199254740993]", 0, 0) + `}`), []string{`"a"`, "shape", "too large"}},
		{"shape huge", raw(`{` + f32("a", "[0,123456789012345678901234567890]", 0, 0) + `}`), []string{`"a"`, "shape", "too large"}},
		{"shape not array", raw(`{`+f32("a", "4", 0, 16)+`}`, make([]byte, 16)...), []string{`"a"`, "shape", "array"}},
		{"shape string element", raw(`{`+f32("a", `["4"]`, 0, 16)+`}`, make([]byte, 16)...), []string{`"a"`, "shape", "integer"}},
		{"shape nested", raw(`{`+f32("a", `[[4]]`, 0, 16)+`}`, make([]byte, 16)...), []string{`"a"`, "shape", "integer"}},
		{"shape null", raw(`{`+f32("a", `null`, 0, 4)+`}`, d8[:4]...), []string{`"a"`, "shape", "array"}},
		{"element overflow", raw(`{`+f32("a", "[1048576,1048576]", 0, 4)+`}`, d8[:4]...), []string{`"a"`, "overflow"}},
		{"element overflow 2^53 dims", raw(`{`+f32("a", "[9007199254740992,9007199254740992]", 0, 4)+`}`, d8[:4]...), []string{`"a"`, "overflow"}},

		// Offsets.
		{"offsets one", raw(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4]}}`, d8[:4]...), []string{`"a"`, "data_offsets", "exactly 2"}},
		{"offsets three", raw(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}`, d8[:4]...), []string{`"a"`, "data_offsets", "exactly 2"}},
		{"offsets empty", raw(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[]}}`, d8[:4]...), []string{`"a"`, "data_offsets", "exactly 2"}},
		{"offsets negative", raw(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}`, d8[:4]...), []string{`"a"`, "data_offsets", "negative"}},
		{"offsets float", raw(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4.0]}}`, d8[:4]...), []string{`"a"`, "data_offsets", "not an integer"}},
		{"offsets over 2^53", raw(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[9007199254740993,9007199254740993]}}`), []string{`"a"`, "data_offsets", "too large"}},
		{"offsets object", raw(`{"a":{"dtype":"F32","shape":[1],"data_offsets":{"0":4}}}`, d8[:4]...), []string{`"a"`, "data_offsets", "array"}},
		{"begin after end", raw(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}`, d8[:4]...), []string{`"a"`, "begin after end"}},
		{"size mismatch short", raw(`{`+f32("a", "[2]", 0, 4)+`}`, d8[:4]...), []string{`"a"`, "size mismatch"}},
		{"size mismatch long", raw(`{`+f32("a", "[1]", 0, 8)+`}`, d8...), []string{`"a"`, "size mismatch"}},
		{"size mismatch scalar", raw(`{` + f32("a", "[]", 0, 0) + `}`), []string{`"a"`, "size mismatch"}},
		{"end beyond data", raw(`{`+f32("a", "[2]", 0, 8)+`}`, d8[:4]...), []string{`"a"`, "beyond"}},
		{"zero-size beyond data", raw(`{`+f32("a", "[1]", 0, 4)+`,`+f32("z", "[0]", 5, 5)+`}`, d8[:4]...), []string{`"z"`, "beyond"}},
		{"huge claimed range", raw(`{`+f32("a", "[262144,262144]", 0, 1<<38)+`}`, d8...), []string{`"a"`, "beyond"}},

		// Layout of the data section.
		{"overlap", raw(`{`+f32("a", "[2]", 0, 8)+`,`+f32("b", "[1]", 4, 8)+`}`, d8...), []string{`"b"`, "overlap", `"a"`}},
		{"same range", raw(`{`+f32("a", "[1]", 0, 4)+`,`+f32("b", "[1]", 0, 4)+`}`, d8[:4]...), []string{`"b"`, "overlap"}},
		{"gap at start", raw(`{`+f32("a", "[1]", 4, 8)+`}`, d8...), []string{`"a"`, "gap", "4"}},
		{"gap between", raw(`{`+f32("a", "[1]", 0, 4)+`,`+f32("b", "[1]", 8, 12)+`}`, make([]byte, 12)...), []string{`"b"`, "gap"}},
		{"trailing data bytes", raw(`{`+f32("a", "[1]", 0, 4)+`}`, d8...), []string{"header", "trailing"}},
		{"data without tensors", raw(`{}`, 1), []string{"header", "trailing"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := Parse(c.file)
			if err == nil {
				t.Fatalf("Parse succeeded (names %v), want an error", f.Names())
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "safetensors: ") {
				t.Errorf("error %q lacks the package prefix", msg)
			}
			for _, w := range c.wants {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
		})
	}
}

// TestParseAccepts lists edge cases that are valid.
func TestParseAccepts(t *testing.T) {
	f32 := func(name string, shape string, begin, end int) string {
		return fmt.Sprintf(`%q:{"dtype":"F32","shape":%s,"data_offsets":[%d,%d]}`, name, shape, begin, end)
	}
	d8 := make([]byte, 8)
	cases := []struct {
		name  string
		file  []byte
		names []string
	}{
		{"empty object", raw(`{}`), nil},
		{"padded", raw(`{}      `), nil},
		{"scalar", raw(`{`+f32("s", "[]", 0, 4)+`}`, d8[:4]...), []string{"s"}},
		{"zero-size at 0", raw(`{` + f32("z", "[0,3]", 0, 0) + `}`), []string{"z"}},
		{"zero-size inside other", raw(`{`+f32("a", "[2]", 0, 8)+`,`+f32("z", "[0]", 4, 4)+`}`, d8...), []string{"a", "z"}},
		{"zero-size at end", raw(`{`+f32("a", "[2]", 0, 8)+`,`+f32("z", "[5,0]", 8, 8)+`}`, d8...), []string{"a", "z"}},
		{"unsorted header", raw(`{`+f32("b", "[1]", 4, 8)+`,`+f32("a", "[1]", 0, 4)+`}`, d8...), []string{"a", "b"}},
		{"reverse layout", raw(`{`+f32("a", "[1]", 4, 8)+`,`+f32("b", "[1]", 0, 4)+`}`, d8...), []string{"a", "b"}},
		{"whitespace inside", raw("{\n  \"a\" : {\"dtype\" : \"F32\",\t\"shape\":[ 1 ],\"data_offsets\":[0, 4]}\n}  ", d8[:4]...), []string{"a"}},
		{"escaped name", raw(`{"\u0061\n":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, d8[:4]...), []string{"a\n"}},
		{"metadata", raw(`{"__metadata__":{"format":"pt"},`+f32("a", "[1]", 0, 4)+`}`, d8[:4]...), []string{"a"}},
		{"metadata last", raw(`{`+f32("a", "[1]", 0, 4)+`,"__metadata__":{}}`, d8[:4]...), []string{"a"}},
		{"big zero-size shape", raw(`{` + f32("z", "[0,9007199254740992,9007199254740992]", 0, 0) + `}`), []string{"z"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := Parse(c.file)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := f.Names(); !slices.Equal(got, c.names) {
				t.Errorf("names = %q, want %q", got, c.names)
			}
		})
	}
}

// TestHugeClaimNoAllocation parses a 1 KiB file whose header claims an
// enormous tensor, and checks it is rejected without a large allocation.
func TestHugeClaimNoAllocation(t *testing.T) {
	headers := []string{
		`{"huge":{"dtype":"F32","shape":[1048576,1048576],"data_offsets":[0,4]}}`,
		`{"huge":{"dtype":"F32","shape":[1048576,1048576],"data_offsets":[0,4398046511104]}}`,
		`{"huge":{"dtype":"F32","shape":[262144,262144],"data_offsets":[0,274877906944]}}`,
	}
	for i, h := range headers {
		// Pad to a 1 KiB file: header padding and data bytes.
		file := raw(h + strings.Repeat(" ", 512-len(h)))
		file = append(file, make([]byte, 1024-len(file))...)
		if len(file) != 1024 {
			t.Fatalf("file is %d bytes", len(file))
		}
		if _, err := Parse(file); err == nil || !strings.Contains(err.Error(), `"huge"`) {
			t.Fatalf("case %d: err = %v, want an error naming the tensor", i, err)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		const runs = 20
		for range runs {
			Parse(file)
		}
		runtime.ReadMemStats(&after)
		if per := (after.TotalAlloc - before.TotalAlloc) / runs; per > 1<<20 {
			t.Errorf("case %d: Parse of a 1 KiB file allocated %d bytes per call", i, per)
		}
	}
}
