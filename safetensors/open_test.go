package safetensors

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestOpenMatchesReadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	w := []float32{1, -2.5, 3e-38, 7}
	entries := []Entry{
		Float32Entry("w", []int{2, 2}, w),
		{Name: "h", DType: F16, Shape: []int{2}, Data: []byte{0x00, 0x3c, 0x00, 0xc0}}, // 1, -2
		Float32Entry("empty", []int{0, 3}, nil),
	}
	if err := WriteFile(path, entries, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	v, shape, ok := f.Float32View("w")
	if !ok || !slices.Equal(v, w) || !slices.Equal(shape, []int{2, 2}) {
		t.Errorf("Float32View(w) = %v %v %v, want %v [2 2] true", v, shape, ok, w)
	}
	if _, _, ok := f.Float32View("h"); ok {
		t.Error("Float32View accepted an F16 tensor")
	}
	if _, _, ok := f.Float32View("missing"); ok {
		t.Error("Float32View accepted a missing tensor")
	}
	if v, _, ok := f.Float32View("empty"); !ok || len(v) != 0 {
		t.Errorf("Float32View(empty) = %v %v", v, ok)
	}
	h, _, err := f.Float32s("h")
	if err != nil || !slices.Equal(h, []float32{1, -2}) {
		t.Errorf("Float32s(h) = %v, %v", h, err)
	}
	if f.Metadata()["format"] != "pt" {
		t.Errorf("metadata %v", f.Metadata())
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if f.Has("w") {
		t.Error("closed file still lists tensors")
	}
}

func TestOpenErrorsNameThePath(t *testing.T) {
	dir := t.TempDir()
	trunc := filepath.Join(dir, "trunc.safetensors")
	if err := WriteFile(trunc, []Entry{Float32Entry("w", []int{64}, make([]float32, 64))}, nil); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(trunc)
	if err := os.WriteFile(trunc, b[:len(b)-5], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{trunc, filepath.Join(dir, "absent.safetensors"), dir} {
		_, err := Open(path)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("Open(%s) error %v, want one naming the path", path, err)
		}
	}
}
