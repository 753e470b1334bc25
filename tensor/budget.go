package tensor

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
)

// budget is the most bytes one allocation sized by input may take; 0 means
// no limit beyond MaxElements.
var budget atomic.Int64

func init() {
	if s := os.Getenv("ATTN_MEMORY_BUDGET"); s != "" {
		if b, err := ParseBytes(s); err == nil {
			budget.Store(b)
		}
	}
}

// SetMemoryBudget bounds the size of any one buffer attn allocates from
// the sizes of its inputs (a tensor, a KV cache, a model's activations):
// a request above it is an error before anything is allocated. 0 removes
// the bound (MaxElements still applies). It returns the previous budget.
// The environment variable ATTN_MEMORY_BUDGET (e.g. "4GiB") sets it at
// start-up, and the CLI's --memory-budget flag sets it per command.
func SetMemoryBudget(bytes int64) int64 {
	if bytes < 0 {
		bytes = 0
	}
	return budget.Swap(bytes)
}

// MemoryBudget returns the current budget in bytes (0: none).
func MemoryBudget() int64 { return budget.Load() }

// CheckBudget returns an error naming what when n float32 values exceed
// the memory budget.
func CheckBudget(what string, n int) error {
	b := budget.Load()
	if b > 0 && int64(n) > b/4 {
		return fmt.Errorf("%s needs %s, over the memory budget of %s (ATTN_MEMORY_BUDGET or --memory-budget)", what, FormatBytes(4*int64(n)), FormatBytes(b))
	}
	return nil
}

// ParseBytes reads a size such as "512MiB", "4GiB", "2GB", "1e9" or
// "123456" (bytes).
func ParseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   float64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1}}
	mult := 1.0
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || !(v >= 0) || v*mult > 1<<62 {
		return 0, fmt.Errorf("tensor: %q is not a size in bytes (e.g. 512MiB, 4GiB)", s)
	}
	return int64(v * mult), nil
}

// FormatBytes writes a byte count for people (KiB, MiB, GiB).
func FormatBytes(b int64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}
