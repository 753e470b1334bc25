package safetensors

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// rssBytes is the process's resident set size, from /proc/self/statm.
func rssBytes(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skipf("no /proc/self/statm: %v", err)
	}
	f := strings.Fields(string(b))
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return pages * int64(os.Getpagesize())
}

// Release drops a mapped tensor's pages from the resident set, and the
// tensor reads back unchanged afterwards.
func TestReleaseDropsResidentPages(t *testing.T) {
	const n = 16 << 20 // 64 MiB of float32
	w := make([]float32, n)
	for i := range w {
		w[i] = float32(i % 1000)
	}
	path := filepath.Join(t.TempDir(), "big.safetensors")
	if err := WriteFile(path, []Entry{Float32Entry("w", []int{n}, w), Float32Entry("small", []int{2}, []float32{1, 2})}, nil); err != nil {
		t.Fatal(err)
	}
	w = nil
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v, _, ok := f.Float32View("w")
	if !ok {
		t.Fatal("no view of w")
	}
	var sum float64
	for _, x := range v { // fault every page in
		sum += float64(x)
	}
	before := rssBytes(t)
	if err := f.Release("w"); err != nil {
		t.Fatal(err)
	}
	after := rssBytes(t)
	// The 64 MiB tensor leaves the resident set, less at most its two
	// partial end pages; allow a few MiB of other movement.
	if drop := before - after; drop < 4*n-(8<<20) {
		t.Errorf("Release dropped %d bytes of resident memory, want about %d", drop, 4*n)
	}
	var again float64
	for i, x := range v {
		if want := float32(i % 1000); x != want {
			t.Fatalf("after Release, w[%d] = %v, want %v", i, x, want)
		}
		again += float64(x)
	}
	if again != sum {
		t.Fatalf("sums differ: %v then %v", sum, again)
	}
	if err := f.Release("missing"); err == nil {
		t.Error("Release of a missing tensor: no error")
	}
}
