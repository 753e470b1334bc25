package tensor

import (
	"strings"
	"testing"
)

func TestMemoryBudget(t *testing.T) {
	defer SetMemoryBudget(SetMemoryBudget(1 << 20)) // 1 MiB
	if _, err := New(512, 512); err != nil {        // exactly 1 MiB
		t.Fatalf("a tensor at the budget: %v", err)
	}
	_, err := New(513, 512)
	if err == nil || !strings.Contains(err.Error(), "memory budget") || !strings.Contains(err.Error(), "[513 512]") {
		t.Fatalf("a tensor over the budget: %v", err)
	}
	SetMemoryBudget(0)
	if _, err := New(1024, 1024); err != nil {
		t.Fatalf("no budget: %v", err)
	}
}

func TestParseBytes(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{{"512MiB", 512 << 20, true}, {"4GiB", 4 << 30, true}, {"2GB", 2e9, true}, {"1e9", 1e9, true}, {"123", 123, true}, {"1.5KiB", 1536, true},
		{"-1GiB", 0, false}, {"lots", 0, false}, {"", 0, false}, {"1e30", 0, false}} {
		got, err := ParseBytes(c.in)
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d (ok %v)", c.in, got, err, c.want, c.ok)
		}
	}
}
