package mhacase

import (
	"bytes"
	"testing"

	"github.com/attn-go/attn/safetensors"
	"github.com/attn-go/attn/tensor"
)

// FuzzLoadCase feeds arbitrary files through the `attn mha` input path:
// parse, load with arbitrary flags, run. Whatever the bytes, it must return
// an error or an output of the promised shapes, never panic; outputs are
// finite because inputs that are not finite must be reported.
func FuzzLoadCase(f *testing.F) {
	// Small seeds: the fuzzer minimises every new interesting input by
	// running it once per removed byte, so multi-kilobyte seeds (the golden
	// cases) make it spend minutes minimising instead of exploring.
	seed := func(entries ...safetensors.Entry) []byte {
		var buf bytes.Buffer
		if err := safetensors.Write(&buf, entries, nil); err != nil {
			f.Fatal(err)
		}
		return buf.Bytes()
	}
	q := safetensors.Float32Entry("query", []int{1, 2, 2}, []float32{1, 2, 3, 4})
	w := safetensors.Float32Entry("in_proj_weight", []int{6, 2}, []float32{1, 0, 0, 1, 1, 1, 0, 1, 1, 0, 2, 1})
	o := safetensors.Float32Entry("out_proj.weight", []int{2, 2}, []float32{1, 0, 0, 1})
	f.Add(seed(q, w, o), 1, true, false)
	f.Add(seed(q, w, o,
		safetensors.BoolEntry("attn_mask", []int{2, 2}, []bool{false, true, true, true}),
		safetensors.Float32Entry("in_proj_bias", []int{6}, make([]float32, 6)),
		safetensors.Float32Entry("out_proj.bias", []int{2}, []float32{0.5, -0.5}),
	), 2, false, true)
	f.Add(seed(q, o,
		safetensors.Float32Entry("key", []int{1, 3, 1}, []float32{1, 2, 3}),
		safetensors.Float32Entry("value", []int{1, 3, 1}, []float32{3, 2, 1}),
		safetensors.Float32Entry("q_proj_weight", []int{2, 2}, []float32{1, 0, 0, 1}),
		safetensors.Float32Entry("k_proj_weight", []int{2, 1}, []float32{1, 1}),
		safetensors.Float32Entry("v_proj_weight", []int{2, 1}, []float32{1, -1}),
		safetensors.BoolEntry("key_padding_mask", []int{1, 3}, []bool{false, false, true}),
	), 1, false, false)
	f.Fuzz(func(t *testing.T, data []byte, heads int, causal, perHead bool) {
		in, err := safetensors.Parse(data)
		if err != nil {
			return
		}
		c, err := Load(in, nil, Flags{Heads: heads, Causal: causal, NeedWeights: true, PerHeadWeights: perHead})
		if err != nil {
			return
		}
		out, w, err := c.Run()
		if err != nil {
			return
		}
		B, T, D := c.Query.Dim(0), c.Query.Dim(1), c.Query.Dim(2)
		S := T
		if c.Key != nil {
			S = c.Key.Dim(1)
		}
		if !tensor.SameShape(out.Shape(), []int{B, T, D}) {
			t.Fatalf("output shape %v, want [%d %d %d]", out.Shape(), B, T, D)
		}
		wantW := []int{B, T, S}
		if perHead {
			wantW = []int{B, heads, T, S}
		}
		if !tensor.SameShape(w.Shape(), wantW) {
			t.Fatalf("weights shape %v, want %v", w.Shape(), wantW)
		}
		if idx, bad := out.FirstNonFinite(); bad {
			t.Fatalf("Run returned a non-finite output at %v without an error", idx)
		}
	})
}
