package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attn-go/attn/internal/mhacase"
	"github.com/attn-go/attn/safetensors"
)

const golden = "../../testdata/golden/mha/"

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestExplain(t *testing.T) {
	code, out, errOut := runCLI(t, "explain")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"1. Input representation", "2. Linear projections", "3. Scores", "4. Softmax", "5. Weighted sum", "6. Concatenate", "max |difference| from the steps above = 0", "tired"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	code, out, _ = runCLI(t, "explain", "--causal", "--heads", "4", "--show-head", "3", "--sentence", "a b c")
	if code != 0 || !strings.Contains(out, "-inf") {
		t.Fatalf("causal demo: exit %d, output:\n%s", code, out)
	}
}

func TestHelpOnEveryCommand(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"explain", "--help"}, {"demo", "--help"}, {"train", "--help"}, {"generate", "--help"}, {"mha", "--help"}} {
		code, out, _ := runCLI(t, args...)
		if code != 0 || !strings.Contains(out, "Usage:") {
			t.Errorf("%v: exit %d, output %q", args, code, out)
		}
	}
}

// attn mha on a PyTorch case writes the same numbers as the library call,
// and reports the distance to the attn_output stored in the case.
func TestMHACommand(t *testing.T) {
	in := golden + "kpm_causal_d64h8_b3_t7.safetensors"
	out := filepath.Join(t.TempDir(), "out.safetensors")
	code, stdout, stderr := runCLI(t, "mha", "--in", in, "--out", out, "--num-heads", "8", "--causal", "--need-weights")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "attn_output_weights [3 7 7]") || !strings.Contains(stdout, "relative error") {
		t.Fatalf("stdout:\n%s", stdout)
	}
	got, err := safetensors.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := safetensors.ReadFile(in)
	c, err := mhacase.Load(f, nil, mhacase.Flags{Heads: 8, Causal: true, NeedWeights: true})
	if err != nil {
		t.Fatal(err)
	}
	wantO, wantW, err := c.Run()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]float32{mhacase.Output: wantO.Data(), mhacase.OutputWeights: wantW.Data()} {
		v, _, err := got.Float32s(name)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if v[i] != want[i] {
				t.Fatalf("%s[%d] = %v, want %v", name, i, v[i], want[i])
			}
		}
	}
}

// User errors exit 1 with one line naming the problem, never a Go panic.
func TestMHACommandErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.safetensors")
	if err := os.WriteFile(garbage, []byte("not a safetensors file at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	noQuery := filepath.Join(dir, "noquery.safetensors")
	if err := safetensors.WriteFile(noQuery, []safetensors.Entry{safetensors.Float32Entry("out_proj.weight", []int{1, 1}, []float32{1})}, nil); err != nil {
		t.Fatal(err)
	}
	typo := filepath.Join(dir, "typo.safetensors")
	if err := safetensors.WriteFile(typo, []safetensors.Entry{
		safetensors.Float32Entry("query", []int{1, 1, 2}, []float32{1, 2}),
		safetensors.Float32Entry("in_proj.weight", []int{6, 2}, make([]float32, 12)),
	}, nil); err != nil {
		t.Fatal(err)
	}
	good := golden + "self_d8h1_b3_t7.safetensors"
	out := filepath.Join(dir, "out.safetensors")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"missing flags", []string{"mha"}, `required flag(s) "in", "num-heads", "out" not set`},
		{"no such file", []string{"mha", "--in", filepath.Join(dir, "nope"), "--out", out, "--num-heads", "1"}, "nope"},
		{"garbage file", []string{"mha", "--in", garbage, "--out", out, "--num-heads", "1"}, "garbage.safetensors"},
		{"no query", []string{"mha", "--in", noQuery, "--out", out, "--num-heads", "1"}, `no "query" tensor`},
		{"misspelt parameter", []string{"mha", "--in", typo, "--out", out, "--num-heads", "1"}, `unknown tensor(s) "in_proj.weight"`},
		{"heads not dividing", []string{"mha", "--in", good, "--out", out, "--num-heads", "3"}, "num heads 3 does not divide embed dim 8"},
		{"zero heads", []string{"mha", "--in", good, "--out", out, "--num-heads", "0"}, "--num-heads is 0"},
		{"out is in", []string{"mha", "--in", good, "--out", good, "--num-heads", "1"}, "is also an input"},
		{"per-head without weights", []string{"mha", "--in", good, "--out", out, "--num-heads", "1", "--per-head-weights"}, "needs --need-weights"},
		{"mask shape", []string{"mha", "--in", golden + "mask3d_bool_d64h8_b3_t7_perhead.safetensors", "--out", out, "--num-heads", "4"}, "attn_mask has shape [24 7 7], want [B*H=12 T=7 S=7]"},
		{"unknown command", []string{"frobnicate"}, "unknown command"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, c.args...)
			if code != 1 {
				t.Fatalf("exit %d, want 1; stderr %q", code, stderr)
			}
			if !strings.Contains(stderr, c.want) {
				t.Fatalf("stderr %q lacks %q", stderr, c.want)
			}
			if strings.Count(strings.TrimSpace(stderr), "\n") != 0 || strings.Contains(stderr, "goroutine") {
				t.Fatalf("stderr is not one clean line: %q", stderr)
			}
		})
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("a failed run left an output file")
	}
}

// The training demo is seeded: two runs print the same numbers (the
// elapsed time aside), and it shows every part it promises.
func TestDemoTrainsAndIsSeeded(t *testing.T) {
	run1 := func() string {
		dir := t.TempDir()
		code, out, errOut := runCLI(t, "demo", "--steps", "15", "--quiet", "--pictures", dir)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		for _, name := range []string{"attention.png", "attention.html"} {
			if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Size() < 1000 {
				t.Errorf("demo picture %s: %v", name, err)
			}
		}
		var keep []string
		for _, l := range strings.Split(out, "\n") {
			if !strings.HasPrefix(l, "Trained in") && !strings.HasPrefix(l, "Pictures:") {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	}
	a, b := run1(), run1()
	for _, want := range []string{"Held-out exact match", "Predictions:", "31415926", "Cross-attention of the last decoder layer", "EOS"} {
		if !strings.Contains(a, want) {
			t.Errorf("demo output lacks %q:\n%s", want, a)
		}
	}
	if a != b {
		t.Errorf("two seeded demo runs differ:\n%s\n---\n%s", a, b)
	}
}
