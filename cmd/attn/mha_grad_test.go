package main

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/attn-go/attn/internal/mhacase"
	"github.com/attn-go/attn/safetensors"
)

const goldenGrad = "../../testdata/golden/grad/"

// The backward door: a case holding grad.attn_output makes attn mha write
// grad.<name> for every input and parameter, the same numbers as the
// library's RunBackward, and report the distance to PyTorch's gradients
// stored in the case.
func TestMHACommandBackward(t *testing.T) {
	cases := []struct {
		file  string
		args  []string
		grads []string
	}{
		{"kvdim_d32h4_b2_t12_s15.safetensors", []string{"--num-heads", "4"},
			[]string{"grad.in_proj_bias", "grad.k_proj_weight", "grad.key", "grad.out_proj.bias", "grad.out_proj.weight", "grad.q_proj_weight", "grad.query", "grad.v_proj_weight", "grad.value"}},
		{"weights_avg_d32h4_b2_t12.safetensors", []string{"--num-heads", "4", "--causal", "--need-weights"},
			[]string{"grad.in_proj_bias", "grad.in_proj_weight", "grad.out_proj.bias", "grad.out_proj.weight", "grad.query"}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			in := goldenGrad + c.file
			out := filepath.Join(t.TempDir(), "out.safetensors")
			code, stdout, stderr := runCLI(t, append([]string{"mha", "--in", in, "--out", out}, c.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !strings.Contains(stdout, "gradients to") || !strings.Contains(stdout, "vs the input's grad.query: relative error") {
				t.Fatalf("stdout:\n%s", stdout)
			}
			got, err := safetensors.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, n := range got.Names() {
				if strings.HasPrefix(n, mhacase.GradPrefix) {
					names = append(names, n)
				}
			}
			sort.Strings(names)
			if strings.Join(names, " ") != strings.Join(c.grads, " ") {
				t.Fatalf("output gradients %v, want %v", names, c.grads)
			}
			f, _ := safetensors.ReadFile(in)
			fl := mhacase.Flags{Heads: 4, Causal: strings.Contains(strings.Join(c.args, " "), "--causal"), NeedWeights: strings.Contains(strings.Join(c.args, " "), "--need-weights")}
			cs, err := mhacase.Load(f, nil, fl)
			if err != nil {
				t.Fatal(err)
			}
			_, _, want, err := cs.RunBackward()
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range c.grads {
				v, _, err := got.Float32s(n)
				if err != nil {
					t.Fatal(err)
				}
				for i, x := range want[n].Values() {
					if v[i] != x {
						t.Fatalf("%s[%d] = %v, want %v", n, i, v[i], x)
					}
				}
			}
		})
	}
	// grad.attn_output_weights without --need-weights is a user error.
	out := filepath.Join(t.TempDir(), "out.safetensors")
	code, _, stderr := runCLI(t, "mha", "--in", goldenGrad+"weights_avg_d32h4_b2_t12.safetensors", "--out", out, "--num-heads", "4", "--causal")
	if code != 1 || !strings.Contains(stderr, "--need-weights") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}
