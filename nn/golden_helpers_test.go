package nn

import (
	"encoding/json"
	"math"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/attn-go/attn/safetensors"
)

// goldenModelCase is one PyTorch autograd file of a whole model: its
// config, label smoothing, integer inputs, the float32 and float64 loss and
// gradients per parameter.
type goldenModelCase struct {
	t         *testing.T
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
			check(t, &goldenModelCase{t: t, f: f, smoothing: float32(ls)})
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
// sublayers; PyTorch's own error is 3e-7 to 2e-6 per tensor).
func (g *goldenModelCase) compare(st LossStats, params []*Param) {
	t := g.t
	want, torch := g.f64("loss_f64")[0], g.f64("loss")[0]
	got := st.Sum / float64(st.Count)
	if e, te := math.Abs(got-want)/want, math.Abs(torch-want)/want; e > 2*te+1e-6 {
		t.Errorf("loss %v, float64 %v: relative error %.2e > 2 × PyTorch's %.2e + 1e-6", got, want, e, te)
	}
	worst := 0.0
	for _, p := range params {
		ref := g.f64("grad64." + p.Name)
		tg, _, err := g.f.Float32s("grad." + p.Name)
		if err != nil {
			t.Fatal(err)
		}
		rel := func(v []float32) float64 {
			var num, den float64
			for i, r := range ref {
				d := float64(v[i]) - r
				num += d * d
				den += r * r
			}
			return math.Sqrt(num / max(den, 1e-300))
		}
		e, te := rel(p.G), rel(tg)
		worst = max(worst, e)
		if e > 2*te+1e-6 {
			t.Errorf("grad %s: relative error %.2e > 2 × PyTorch's %.2e + 1e-6", p.Name, e, te)
		}
	}
	t.Logf("loss relative error %.1e; worst gradient relative error %.1e over %d tensors", math.Abs(got-want)/want, worst, len(params))
}
