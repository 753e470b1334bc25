package nn

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/attn-go/attn/safetensors"
)

// The PyTorch golden cases (scripts/golden/gen_transformer.py) hold
// torch.nn.TransformerEncoderLayer/DecoderLayer stacks with a tied,
// scaled embedding and sinusoidal positions, a batch with padding and
// ignored labels, and autograd's gradients of the label-smoothed loss in
// float32 and float64. attn's loss and every gradient must be within
// twice PyTorch float32's own error of the float64 reference, plus 1e-6
// relative (float32 rounding through about 20 sublayers; PyTorch's own
// error is 3e-7 to 2e-6 per tensor).
func TestTransformerMatchesPyTorch(t *testing.T) {
	files, err := filepath.Glob("../testdata/golden/transformer/*.safetensors")
	if err != nil || len(files) < 3 {
		t.Fatalf("golden files: %v %v", files, err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := safetensors.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var c TransformerConfig
			if err := json.Unmarshal([]byte(f.Metadata()["config"]), &c); err != nil {
				t.Fatal(err)
			}
			var ls float64
			if err := json.Unmarshal([]byte(f.Metadata()["label_smoothing"]), &ls); err != nil {
				t.Fatal(err)
			}
			m, err := NewTransformer(c, rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range m.Params() {
				v, shape, err := f.Float32s(p.Name)
				if err != nil {
					t.Fatal(err)
				}
				if len(v) != len(p.W) {
					t.Fatalf("%s: file shape %v, model %v", p.Name, shape, p.Shape)
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
			src, ss := ints("src")
			srcLen, _ := ints("src_len")
			tgtIn, ts := ints("tgt_in")
			tgtOut, _ := ints("tgt_out")
			b := &Seq2SeqBatch{B: ss[0], S: ss[1], T: ts[1], Src: src, SrcLen: srcLen, TgtIn: tgtIn, TgtOut: tgtOut, Ignore: -1}
			st, err := m.Loss(b, TrainOptions{Backward: true, Smoothing: float32(ls)})
			if err != nil {
				t.Fatal(err)
			}
			scalar := func(name string) float64 {
				v, _, err := f.Float64s(name)
				if err != nil {
					t.Fatal(err)
				}
				return v[0]
			}
			want, torch := scalar("loss_f64"), scalar("loss")
			got := st.Sum / float64(st.Count)
			if e, te := math.Abs(got-want)/want, math.Abs(torch-want)/want; e > 2*te+1e-6 {
				t.Errorf("loss %v, float64 reference %v: relative error %.2e > 2 × PyTorch's %.2e + 1e-6", got, want, e, te)
			}
			worst := 0.0
			for _, p := range m.Params() {
				ref, _, err := f.Float64s("grad64." + p.Name)
				if err != nil {
					t.Fatal(err)
				}
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
			t.Logf("loss rel error %.1e; worst gradient rel error %.1e over %d tensors", math.Abs(got-want)/want, worst, len(m.Params()))
		})
	}
}
