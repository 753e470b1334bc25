package mhacase

import (
	"bytes"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/attn-go/attn/internal/numcheck"
	"github.com/attn-go/attn/safetensors"
)

// goldenDir holds the cases written by scripts/golden/gen_mha.py.
const goldenDir = "../../testdata/golden/mha"

// TestGoldenPyTorch runs every PyTorch case through the same path as
// `attn mha` and holds every output to numcheck.Golden: a relative error
// against the float64 reference no worse than twice PyTorch float32's own
// error on the case plus 2^-24 (half an ulp, the floor when PyTorch is
// exact, e.g. T = S = 1, where every weight is exactly 1), and a max abs
// error no worse than four times PyTorch's plus 2^-24 of the largest
// reference value (a guard against an error concentrated in a few
// elements, which a norm can hide). Fully masked rows are compared to the project's
// contract (zero context), which the reference implements.
func TestGoldenPyTorch(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(goldenDir, "*.safetensors"))
	if err != nil || len(files) < 30 {
		t.Fatalf("found %d golden files in %s (err %v); regenerate with python3 scripts/golden/gen_mha.py", len(files), goldenDir, err)
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
			var weights *safetensors.File
			if meta["synthetic_weights"] != "" {
				weights = syntheticWeights(t, meta)
			}
			c, err := Load(in, weights, fl)
			if err != nil {
				t.Fatal(err)
			}
			out, w, err := c.Run()
			if err != nil {
				t.Fatal(err)
			}
			compare(t, in, Output, out.Data())
			if fl.NeedWeights {
				compare(t, in, OutputWeights, w.Data())
			} else if w != nil {
				t.Fatal("weights returned though not asked for")
			}
		})
	}
}

// compare holds got to the bounds of TestGoldenPyTorch against ref.<name>,
// with PyTorch float32's errors taken from the file's metadata.
func compare(t *testing.T, in *safetensors.File, name string, got []float32) {
	t.Helper()
	ref, _, err := in.Float64s("ref." + name)
	if err != nil {
		t.Fatal(err)
	}
	meta := in.Metadata()
	ours := numcheck.Measure(got, ref)
	torch := numcheck.Errors{
		Rel:    atof(t, meta["torch_rel_err."+name]),
		MaxAbs: atof(t, meta["torch_max_abs_err."+name]),
		MaxRef: ours.MaxRef, // the same reference
	}
	goldenRows.Check(t, numcheck.Row{Case: goldenCase(t, "mha", name), Ours: ours, Torch: torch, Bound: numcheck.Golden(torch)})
}

// goldenRows collects the package's golden rows; TestMain prints them.
var goldenRows numcheck.Table

// TestMain prints the golden rows of the tests run as one table, under -v.
func TestMain(m *testing.M) { os.Exit(goldenRows.Run(m)) }

// goldenCase names a row of the table: the golden folder, the case (the
// subtest's name) and the tensor.
func goldenCase(t *testing.T, dir, tensor string) string {
	_, c, _ := strings.Cut(t.Name(), "/")
	return dir + "/" + c + " " + tensor
}

// syntheticWeights regenerates, bit for bit, the parameters gen_mha.py
// describes instead of storing (D >= 768 cases), as an in-memory weights
// file, so the case runs through Load's separate-weights path.
func syntheticWeights(t *testing.T, meta map[string]string) *safetensors.File {
	t.Helper()
	if meta["synthetic_weights"] != "splitmix64" {
		t.Fatalf("unknown synthetic weights %q", meta["synthetic_weights"])
	}
	seed := uint64(atoi(t, meta["synthetic_seed"]))
	e := atoi(t, meta["synthetic_scale_log2"])
	var entries []safetensors.Entry
	// Format: name[d0,d1],name[d0]...
	for _, p := range strings.Split(meta["synthetic_params"], "],") {
		p = strings.TrimSuffix(p, "]")
		name, dims, ok := strings.Cut(p, "[")
		if !ok {
			t.Fatalf("bad synthetic_params entry %q", p)
		}
		var shape []int
		n := 1
		for _, d := range strings.Split(dims, ",") {
			shape = append(shape, atoi(t, d))
			n *= shape[len(shape)-1]
		}
		entries = append(entries, safetensors.Float32Entry(name, shape, splitmixParams(seed, e, name, n)))
	}
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, entries, nil); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// splitmixParams is the Go twin of gen_mha.py's synthetic weights: element i
// of parameter name is a 24-bit integer from a splitmix64 hash of (seed,
// FNV-1a(name), i), centred and scaled by 2^e, exact in float32.
func splitmixParams(seed uint64, e int, name string, n int) []float32 {
	h := fnv.New64a()
	h.Write([]byte(name))
	base := seed*0x9E3779B97F4A7C15 + h.Sum64()
	out := make([]float32, n)
	for i := range out {
		x := base + uint64(i)*0xD1B54A32D192ED03
		x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
		x = (x ^ (x >> 27)) * 0x94D049BB133111EB
		x ^= x >> 31
		u := int64(x >> 40)
		out[i] = float32(math.Ldexp(float64(u-1<<23), -23+e))
	}
	return out
}

// The check values published in scripts/golden/README.md.
func TestSplitmixTwin(t *testing.T) {
	got := splitmixParams(1, -5, "out_proj.weight", 3)
	want := []uint32{0xbcb6acba, 0x3ce5cd30, 0x3c8eb68c}
	for i, w := range want {
		if math.Float32bits(got[i]) != w {
			t.Fatalf("element %d: %#x, want %#x", i, math.Float32bits(got[i]), w)
		}
	}
}

// goldenFlags reads the module settings a golden file records in its
// metadata (the generators write them under PyTorch's argument names).
func goldenFlags(t *testing.T, meta map[string]string) Flags {
	return Flags{
		Heads:          atoi(t, meta["num_heads"]),
		Causal:         meta["causal"] == "true",
		NeedWeights:    meta["need_weights"] == "true",
		PerHeadWeights: meta["average_attn_weights"] == "false",
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	v, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("metadata integer %q: %v", s, err)
	}
	return v
}

func atof(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("metadata number %q: %v", s, err)
	}
	return v
}
