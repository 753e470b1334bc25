package models

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/attn-go/attn/safetensors"
)

// rssBytes is the process's resident set size, from /proc/self/statm.
func rssBytes(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skipf("no /proc/self/statm: %v", err)
	}
	pages, err := strconv.ParseInt(strings.Fields(string(b))[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return pages * int64(os.Getpagesize())
}

// Loading a mapped F32 checkpoint packs its matrices and lets the mapped
// pages of the stored ones go: the weights are resident once, not twice.
func TestLoadPacksWeightsOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 100 MB checkpoint")
	}
	const D, F, L, V, P = 512, 2048, 8, 1000, 64
	dir := t.TempDir()
	cfg := fmt.Sprintf(`{"model_type": "gpt2", "n_embd": %d, "n_head": 8, "n_layer": %d, "n_positions": %d, "vocab_size": %d, "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new"}`, D, L, P, V)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	var es []safetensors.Entry
	matrices := int64(0)
	add := func(name string, shape ...int) {
		n := 1
		for _, d := range shape {
			n *= d
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * 0.02)
		}
		if len(shape) == 2 && !strings.HasPrefix(name, "transformer.w") {
			matrices += 4 * int64(n)
		}
		es = append(es, safetensors.Float32Entry(name, shape, v))
	}
	add("transformer.wte.weight", V, D)
	add("transformer.wpe.weight", P, D)
	for l := range L {
		p := fmt.Sprintf("transformer.h.%d.", l)
		for _, n := range []string{"ln_1", "ln_2"} {
			add(p+n+".weight", D)
			add(p+n+".bias", D)
		}
		add(p+"attn.c_attn.weight", D, 3*D)
		add(p+"attn.c_attn.bias", 3*D)
		add(p+"attn.c_proj.weight", D, D)
		add(p+"attn.c_proj.bias", D)
		add(p+"mlp.c_fc.weight", D, F)
		add(p+"mlp.c_fc.bias", F)
		add(p+"mlp.c_proj.weight", F, D)
		add(p+"mlp.c_proj.bias", D)
	}
	add("transformer.ln_f.weight", D)
	add("transformer.ln_f.bias", D)
	if err := safetensors.WriteFile(filepath.Join(dir, "model.safetensors"), es, nil); err != nil {
		t.Fatal(err)
	}
	es = nil
	runtime.GC()
	debug.FreeOSMemory()

	before := rssBytes(t)
	model, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer model.Close()
	runtime.GC()
	debug.FreeOSMemory()
	grew := rssBytes(t) - before
	// The packed copy is the matrices' size (no padding at these widths);
	// with the stored pages kept resident too it would be twice that.
	t.Logf("matrices %d MB, resident memory grew by %d MB", matrices>>20, grew>>20)
	if grew > matrices*5/4 {
		t.Errorf("loading grew resident memory by %d bytes for %d bytes of matrices: the stored weights stayed resident", grew, matrices)
	}
	m := model.(*Decoder)
	s, err := m.NewState(0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Forward(s, []int{1, 2, 3}, ForwardOptions{}); err != nil {
		t.Fatal(err)
	}
}
