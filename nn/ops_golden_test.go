package nn

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/attn-go/attn/internal/numcheck"
	"github.com/attn-go/attn/safetensors"
)

// opsFile reads one testdata/golden/ops case (scripts/golden/gen_ops.py).
type opsFile struct {
	t *testing.T
	f *safetensors.File
}

func (o opsFile) f32(name string) ([]float32, []int) {
	v, shape, err := o.f.Float32s(name)
	if err != nil {
		o.t.Fatal(err)
	}
	return v, shape
}

func (o opsFile) f64(name string) []float64 {
	v, _, err := o.f.Float64s(name)
	if err != nil {
		o.t.Fatal(err)
	}
	return v
}

func (o opsFile) ints(name string) []int {
	v, _, err := o.f.Int64s(name)
	if err != nil {
		o.t.Fatal(err)
	}
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

// meta32 parses a metadata number the way Go holds it: as a float32.
func (o opsFile) meta32(key string) float32 {
	v, err := strconv.ParseFloat(o.f.Metadata()[key], 32)
	if err != nil {
		o.t.Fatalf("metadata %s: %v", key, err)
	}
	return float32(v)
}

func (o opsFile) metaInt(key string) int {
	v, err := strconv.Atoi(o.f.Metadata()[key])
	if err != nil {
		o.t.Fatalf("metadata %s: %v", key, err)
	}
	return v
}

func widen(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// Each backward pass of package nn against PyTorch autograd, one op at a
// time (scripts/golden/gen_ops.py). A case runs the Go forward, then the Go
// backward on zero-initialised gradient buffers with the file's upstream
// gradient dy, and returns every output and gradient under the name of its
// float64 reference (ref.<name>); the torch float32 result is <name>.
//
// Bound, the project-wide rule: for every output and gradient, the relative
// L2 error against the float64 reference must be
//
//	≤ 2 × (PyTorch float32's own relative L2 error) + 2^-24.
//
// The 2^-24 term admits a correctly rounded float32 result where torch
// happens to be exact (ReLU, the embedding lookup).
func TestOpsGolden(t *testing.T) {
	type opsCase struct {
		file string // testdata/golden/ops/<file>.safetensors
		run  func(o opsFile) map[string][]float64
	}
	cases := []opsCase{
		{"linear", func(o opsFile) map[string][]float64 {
			x, xs := o.f32("x")
			w, ws := o.f32("w")
			b, _ := o.f32("b")
			dy, _ := o.f32("dy")
			m, in, out := xs[0], xs[1], ws[0]
			y := make([]float32, m*out)
			LinearForward(y, x, w, b, m, in, out)
			dx, dw, db := make([]float32, m*in), make([]float32, out*in), make([]float32, out)
			LinearBackward(dx, dw, db, dy, x, w, m, in, out)
			return map[string][]float64{"y": widen(y), "grad.x": widen(dx), "grad.w": widen(dw), "grad.b": widen(db)}
		}},
		{"layernorm", func(o opsFile) map[string][]float64 {
			x, xs := o.f32("x")
			w, _ := o.f32("w")
			b, _ := o.f32("b")
			dy, _ := o.f32("dy")
			rows, d := xs[0], xs[1]
			y, mean, rstd := make([]float32, rows*d), make([]float32, rows), make([]float32, rows)
			LayerNormForward(y, mean, rstd, x, w, b, rows, d, o.meta32("eps"))
			dx, dw, db := make([]float32, rows*d), make([]float32, d), make([]float32, d)
			LayerNormBackward(dx, dw, db, dy, x, w, mean, rstd, rows, d)
			return map[string][]float64{"y": widen(y), "mean": widen(mean), "rstd": widen(rstd),
				"grad.x": widen(dx), "grad.w": widen(dw), "grad.b": widen(db)}
		}},
		{"rmsnorm", func(o opsFile) map[string][]float64 {
			x, xs := o.f32("x")
			w, _ := o.f32("w")
			dy, _ := o.f32("dy")
			rows, d := xs[0], xs[1]
			y, rstd := make([]float32, rows*d), make([]float32, rows)
			RMSNormForward(y, rstd, x, w, rows, d, o.meta32("eps"))
			dx, dw := make([]float32, rows*d), make([]float32, d)
			RMSNormBackward(dx, dw, dy, x, w, rstd, rows, d)
			return map[string][]float64{"y": widen(y), "rstd": widen(rstd), "grad.x": widen(dx), "grad.w": widen(dw)}
		}},
		{"gelu_erf", func(o opsFile) map[string][]float64 { return opsGELU(o, GELUErf) }},
		{"gelu_tanh", func(o opsFile) map[string][]float64 { return opsGELU(o, GELUTanh) }},
		{"silu", func(o opsFile) map[string][]float64 {
			x, _ := o.f32("x")
			dy, _ := o.f32("dy")
			y := slices.Clone(x)
			SiLU(y)
			dx := make([]float32, len(x))
			SiLUBackward(dx, dy, x)
			return map[string][]float64{"y": widen(y), "grad.x": widen(dx)}
		}},
		{"relu", func(o opsFile) map[string][]float64 {
			x, _ := o.f32("x")
			dy, _ := o.f32("dy")
			y := slices.Clone(x)
			ReLU(y)
			dx := make([]float32, len(x))
			ReLUBackward(dx, dy, x)
			return map[string][]float64{"y": widen(y), "grad.x": widen(dx)}
		}},
		{"swiglu", func(o opsFile) map[string][]float64 {
			gate, _ := o.f32("gate")
			up, _ := o.f32("up")
			dy, _ := o.f32("dy")
			y := slices.Clone(gate)
			SwiGLU(y, up)
			dgate, dup := make([]float32, len(gate)), make([]float32, len(up))
			SwiGLUBackward(dgate, dup, dy, gate, up)
			return map[string][]float64{"y": widen(y), "grad.gate": widen(dgate), "grad.up": widen(dup)}
		}},
		{"embedding", func(o opsFile) map[string][]float64 {
			table, ts := o.f32("table")
			ids := o.ints("ids")
			dy, _ := o.f32("dy")
			dim := ts[1]
			y := make([]float32, len(ids)*dim)
			EmbeddingForward(y, table, ids, dim)
			dtable := make([]float32, len(table))
			EmbeddingBackward(dtable, dy, ids, dim)
			return map[string][]float64{"y": widen(y), "grad.table": widen(dtable)}
		}},
		{"ce_smooth0", opsCrossEntropy},
		{"ce_smooth01", opsCrossEntropy},
	}

	dir := "../testdata/golden/ops"
	var total int64
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		total += info.Size()
		name := strings.TrimSuffix(e.Name(), ".safetensors")
		if !slices.ContainsFunc(cases, func(c opsCase) bool { return c.file == name }) {
			t.Errorf("%s has no test case", e.Name())
		}
	}
	if total > 300_000 {
		t.Errorf("testdata/golden/ops holds %d bytes, want ≤ 300 KB", total)
	}

	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			f, err := safetensors.ReadFile(filepath.Join(dir, c.file+".safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			o := opsFile{t, f}
			got := c.run(o)
			var refs []string
			for _, n := range f.Names() {
				if name, ok := strings.CutPrefix(n, "ref."); ok {
					refs = append(refs, name)
				}
			}
			slices.Sort(refs)
			if len(refs) != len(got) {
				t.Fatalf("file has references %v, test produced %d tensors", refs, len(got))
			}
			for _, name := range refs {
				g, ok := got[name]
				if !ok {
					t.Fatalf("no Go result for ref.%s", name)
				}
				ref := o.f64("ref." + name)
				te := numcheck.Measure(o.f64(name), ref)
				goldenRows.Check(t, numcheck.Row{Case: "ops/" + c.file + " " + name, Ours: numcheck.Measure(g, ref), Torch: te, Bound: numcheck.GoldenRel(te, numcheck.HalfULP)})
			}
		})
	}
}

func opsGELU(o opsFile, kind GELUKind) map[string][]float64 {
	if want := map[GELUKind]string{GELUErf: "erf", GELUTanh: "tanh"}[kind]; o.f.Metadata()["kind"] != want {
		o.t.Fatalf("file kind %q, want %q", o.f.Metadata()["kind"], want)
	}
	x, _ := o.f32("x")
	dy, _ := o.f32("dy")
	y := slices.Clone(x)
	GELU(y, kind)
	dx := make([]float32, len(x))
	GELUBackward(dx, dy, x, kind)
	return map[string][]float64{"y": widen(y), "grad.x": widen(dx)}
}

// opsCrossEntropy: F.cross_entropy(reduction="mean") is sum/count over the
// non-ignored rows, so scale = count and dlogits is the gradient of the loss.
func opsCrossEntropy(o opsFile) map[string][]float64 {
	logits, ls := o.f32("logits")
	targets := o.ints("targets")
	rows, V := ls[0], ls[1]
	ignore := o.metaInt("ignore_index")
	want := 0
	for _, t := range targets {
		if t != ignore {
			want++
		}
	}
	if want == 0 || want == rows {
		o.t.Fatalf("%d of %d rows counted: the case should ignore some rows, not all", want, rows)
	}
	dl := make([]float32, rows*V)
	sum, count := CrossEntropy(dl, logits, targets, rows, V, o.meta32("smoothing"), ignore, float32(want))
	if count != want {
		o.t.Fatalf("count %d, want %d", count, want)
	}
	return map[string][]float64{"loss": {sum / float64(count)}, "grad.logits": widen(dl)}
}
