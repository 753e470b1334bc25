package nn

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/attn-go/attn/safetensors"
)

// The decoder-only model against PyTorch autograd on a nanoGPT
// transcription (scripts/golden/gen_gpt.py): the loss and every gradient
// within twice PyTorch float32's own error of float64, plus 1e-6 relative
// (the same bound as the encoder-decoder test). Gradients, not only the
// loss, are compared: the erf and tanh forms of GELU move the loss by as
// little as 5e-7 but the gradients by far more.
func TestGPTMatchesPyTorch(t *testing.T) {
	files, err := filepath.Glob("../testdata/golden/gpt/*.safetensors")
	if err != nil || len(files) < 3 {
		t.Fatalf("golden files: %v %v", files, err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := safetensors.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var c GPTConfig
			if err := json.Unmarshal([]byte(f.Metadata()["config"]), &c); err != nil {
				t.Fatal(err)
			}
			var ls float64
			if err := json.Unmarshal([]byte(f.Metadata()["label_smoothing"]), &ls); err != nil {
				t.Fatal(err)
			}
			m, err := NewGPT(c, rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range m.Params() {
				v, _, err := f.Float32s(p.Name)
				if err != nil || len(v) != len(p.W) {
					t.Fatalf("%s: %v (%d values, want %d)", p.Name, err, len(v), len(p.W))
				}
				copy(p.W, v)
			}
			ints := func(name string) ([]int, []int) {
				v, shape, err := f.Int64s(name)
				if err != nil {
					t.Fatal(err)
				}
				out := make([]int, len(v))
				for i, x := range v {
					out[i] = int(x)
				}
				return out, shape
			}
			ids, shape := ints("ids")
			labels, _ := ints("labels")
			st, err := m.Loss(&LMBatch{B: shape[0], T: shape[1], IDs: ids, Labels: labels, Ignore: -1}, TrainOptions{Backward: true, Smoothing: float32(ls)})
			if err != nil {
				t.Fatal(err)
			}
			f64 := func(name string) []float64 {
				v, _, err := f.Float64s(name)
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			want, torch := f64("loss_f64")[0], f64("loss")[0]
			got := st.Sum / float64(st.Count)
			if e, te := math.Abs(got-want)/want, math.Abs(torch-want)/want; e > 2*te+1e-6 {
				t.Errorf("loss %v, float64 %v: relative error %.2e > 2 × PyTorch's %.2e + 1e-6", got, want, e, te)
			}
			worst := 0.0
			for _, p := range m.Params() {
				ref := f64("grad64." + p.Name)
				tg, _, err := f.Float32s("grad." + p.Name)
				if err != nil {
					t.Fatal(err)
				}
				rel := func(g []float32) float64 {
					var num, den float64
					for i, r := range ref {
						d := float64(g[i]) - r
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
			t.Logf("worst gradient relative error %.1e over %d tensors", worst, len(m.Params()))
		})
	}
}
