package nn

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/attn-go/attn/internal/numcheck"
	"github.com/attn-go/attn/safetensors"
)

// goldenModelCase is one PyTorch autograd file of a whole model: its
// config, label smoothing, integer inputs, the float32 and float64 loss and
// gradients per parameter.
type goldenModelCase struct {
	t         *testing.T
	name      string // <folder>/<file>, for the golden table
	f         *safetensors.File
	smoothing float32
}

// forEachGoldenModel runs check on every file of a golden folder, after
// decoding its "config" metadata into cfg.
func forEachGoldenModel(t *testing.T, dir string, min int, cfg any, check func(t *testing.T, g *goldenModelCase)) {
	files, err := filepath.Glob(filepath.Join("../testdata/golden", dir, "*.safetensors"))
	if err != nil || len(files) < min {
		t.Fatalf("golden files in %s: %v %v", dir, files, err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := safetensors.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			reflect.ValueOf(cfg).Elem().SetZero() // no field left from the previous file
			if err := json.Unmarshal([]byte(f.Metadata()["config"]), cfg); err != nil {
				t.Fatal(err)
			}
			var ls float64
			if err := json.Unmarshal([]byte(f.Metadata()["label_smoothing"]), &ls); err != nil {
				t.Fatal(err)
			}
			name := dir + "/" + strings.TrimSuffix(filepath.Base(path), ".safetensors")
			check(t, &goldenModelCase{t: t, name: name, f: f, smoothing: float32(ls)})
		})
	}
}

// load copies the file's parameters into params.
func (g *goldenModelCase) load(params []*Param) {
	for _, p := range params {
		v, shape, err := g.f.Float32s(p.Name)
		if err != nil || len(v) != len(p.W) {
			g.t.Fatalf("%s: %v (file shape %v, model %v)", p.Name, err, shape, p.Shape)
		}
		copy(p.W, v)
	}
}

func (g *goldenModelCase) ints(name string) ([]int, []int) {
	v, shape, err := g.f.Int64s(name)
	if err != nil {
		g.t.Fatal(err)
	}
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out, shape
}

func (g *goldenModelCase) f64(name string) []float64 {
	v, _, err := g.f.Float64s(name)
	if err != nil {
		g.t.Fatal(err)
	}
	return v
}

// compare checks the loss and every parameter's gradient against the
// float64 reference: attn's relative error must be at most twice PyTorch
// float32's own plus 1e-6 (float32 rounding through a few dozen
// sublayers; PyTorch's own error is 3e-7 to 2e-6 per tensor). The golden
// table gets the loss and the gradient that uses most of its bound.
func (g *goldenModelCase) compare(st LossStats, params []*Param) {
	t := g.t
	t.Helper()
	want := g.f64("loss_f64")
	got := []float64{st.Sum / float64(st.Count)}
	te := numcheck.Measure(g.f64("loss"), want)
	goldenRows.Check(t, numcheck.Row{Case: g.name + " loss", Ours: numcheck.Measure(got, want), Torch: te, Bound: numcheck.GoldenRel(te, 1e-6)})
	var worst numcheck.Row
	for i, p := range params {
		ref := g.f64("grad64." + p.Name)
		tg, _, err := g.f.Float32s("grad." + p.Name)
		if err != nil {
			t.Fatal(err)
		}
		te := numcheck.Measure(tg, ref)
		r := numcheck.Row{Case: "grad " + p.Name, Ours: numcheck.Measure(p.G, ref), Torch: te, Bound: numcheck.GoldenRel(te, 1e-6)}
		numcheck.Check(t, r.Case, r.Ours, r.Bound)
		if i == 0 || numcheck.Worse(r.Margin(), worst.Margin()) {
			worst = r
		}
	}
	worst.Case = fmt.Sprintf("%s %s (tightest of %d)", g.name, worst.Case, len(params))
	goldenRows.Add(worst)
}

// goldenRows collects the package's golden rows; TestMain prints them.
var goldenRows numcheck.Table

// TestMain prints the golden rows of the tests run as one table, under -v.
func TestMain(m *testing.M) { os.Exit(goldenRows.Run(m)) }
