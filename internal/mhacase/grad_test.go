package mhacase

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/attn-go/attn/internal/numcheck"
	"github.com/attn-go/attn/safetensors"
	"github.com/attn-go/attn/tensor"
)

// gradDir holds the cases written by scripts/golden/gen_grad.py.
const gradDir = "../../testdata/golden/grad"

// TestGoldenGradients runs every PyTorch autograd case through the backward
// door of `attn mha` (RunBackward) and requires, for the gradient of every
// input and parameter, a relative L2 error against PyTorch's float64
// gradient no worse than twice PyTorch float32's own error on the same case
// plus 2^-24 (half an ulp, the floor no float32 answer can beat), and a max
// abs error no worse than four times PyTorch float32's (plus 2^-24 of the
// largest reference value), as TestGoldenPyTorch does for the forward. The
// PyTorch float32 errors are measured here, from the file's grad.<name>
// (torch float32) and ref.grad.<name> (torch float64). The cases hold no
// fully masked row (PyTorch gives NaN there; the contract's zero gradient is
// tested in package attention).
func TestGoldenGradients(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(gradDir, "*.safetensors"))
	if err != nil || len(files) < 10 {
		t.Fatalf("found %d golden files in %s (err %v); regenerate with /usr/bin/python3 scripts/golden/gen_grad.py", len(files), gradDir, err)
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".safetensors")
		t.Run(name, func(t *testing.T) {
			in, err := safetensors.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			meta := in.Metadata()
			fl := goldenFlags(t, meta)
			c, err := Load(in, nil, fl)
			if err != nil {
				t.Fatal(err)
			}
			if c.DOut == nil || (fl.NeedWeights != (c.DWeights != nil)) {
				t.Fatalf("case has grad.attn_output %v, grad.attn_output_weights %v", c.DOut != nil, c.DWeights != nil)
			}
			out, w, grads, err := c.RunBackward()
			if err != nil {
				t.Fatal(err)
			}
			compareTorch(t, in, Output, out)
			if fl.NeedWeights {
				compareTorch(t, in, OutputWeights, w)
			}
			// Exactly the gradients PyTorch has: grad.<x> with a ref.grad.<x>.
			var want []string
			for _, n := range in.Names() {
				if strings.HasPrefix(n, "ref."+GradPrefix) {
					want = append(want, strings.TrimPrefix(n, "ref."))
				}
			}
			var got []string
			for n := range grads {
				got = append(got, n)
			}
			sort.Strings(want)
			sort.Strings(got)
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("gradients %v, PyTorch has %v", got, want)
			}
			for _, n := range got {
				compareTorch(t, in, n, grads[n])
			}
		})
	}
}

// compareTorch holds got to the bounds of TestGoldenGradients against
// ref.<name> (torch float64), with torch float32's errors measured from
// <name>.
func compareTorch(t *testing.T, in *safetensors.File, name string, got *tensor.Tensor) {
	t.Helper()
	ref, shape, err := in.Float64s("ref." + name)
	if err != nil {
		t.Fatal(err)
	}
	torch, _, err := in.Float64s(name)
	if err != nil {
		t.Fatal(err)
	}
	if !tensor.SameShape(got.Shape(), shape) {
		t.Fatalf("%s: shape %v, PyTorch's %v", name, got.Shape(), shape)
	}
	te := numcheck.Measure(torch, ref)
	goldenRows.Check(t, numcheck.Row{Case: goldenCase(t, "grad", name), Ours: numcheck.Measure(got.Values(), ref), Torch: te, Bound: numcheck.Golden(te)})
}
