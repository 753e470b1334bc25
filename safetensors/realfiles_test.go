package safetensors

import (
	"math"
	"strings"
	"testing"

	"github.com/attn-go/attn/internal/testmodels"

	"github.com/attn-go/attn/tensor"
)

func TestRealFiles(t *testing.T) {
	cases := []struct {
		model   string
		tensors map[string][]int // a few names with their known shapes
		count   int
	}{
		{"tiny-gpt2", map[string][]int{
			"transformer.wte.weight":             {50257, 2},
			"transformer.wpe.weight":             {1024, 2},
			"transformer.h.0.attn.c_attn.weight": {2, 6},
			"transformer.ln_f.bias":              {2},
		}, 0},
		{"tiny-random-llama", map[string][]int{
			"model.embed_tokens.weight":              {32000, 16},
			"lm_head.weight":                         {32000, 16},
			"model.layers.1.mlp.down_proj.weight":    {16, 64},
			"model.layers.0.self_attn.q_proj.weight": {16, 16},
			"model.norm.weight":                      {16},
		}, 3 + 2*9},
	}
	for _, c := range cases {
		t.Run(c.model, func(t *testing.T) {
			path := testmodels.Model(t, c.model, "model.safetensors")
			f, err := ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			names := f.Names()
			if len(names) == 0 {
				t.Fatal("no tensors")
			}
			if c.count > 0 && len(names) != c.count {
				t.Errorf("%d tensors, want %d", len(names), c.count)
			}
			if f.Metadata()["format"] != "pt" {
				t.Errorf("metadata = %v, want format=pt", f.Metadata())
			}
			for name, want := range c.tensors {
				info, ok := f.Info(name)
				if !ok {
					t.Errorf("missing tensor %q", name)
					continue
				}
				if !equalInts(info.Shape, want) {
					t.Errorf("%s: shape %v, want %v", name, info.Shape, want)
				}
			}
			for _, name := range names {
				info, _ := f.Info(name)
				if !strings.Contains(name, ".") || len(info.Shape) == 0 || len(info.Shape) > 2 {
					t.Errorf("%s: odd name or shape %v", name, info.Shape)
				}
				if info.DType != F32 {
					t.Errorf("%s: dtype %s, want F32", name, info.DType)
					continue
				}
				v, shape, err := f.Float32s(name)
				if err != nil {
					t.Errorf("Float32s(%s): %v", name, err)
					continue
				}
				if n, _ := tensor.NumElements(shape...); n != len(v) {
					t.Errorf("%s: %d values for shape %v", name, len(v), shape)
				}
				for i, x := range v {
					if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) || math.Abs(float64(x)) > 100 {
						t.Errorf("%s[%d] = %v, not a sane weight", name, i, x)
						break
					}
				}
				if _, err := f.Tensor(name); err != nil {
					t.Errorf("Tensor(%s): %v", name, err)
				}
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
