package models

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/attn-go/attn/safetensors"
	"github.com/attn-go/attn/tensor"
)

// The golden cases are tiny random-weight models saved with Hugging Face
// (or llama2.c) names by scripts/golden/gen_models.py, with the outputs of a
// PyTorch reference written from the published architectures, in float32
// and float64.
const goldenDir = "../testdata/golden/models"

// goldenRel is the bound on ‖ours − float64‖ / ‖float64‖ for logits,
// hidden states and BERT outputs. The issue sets 1e-4; float32 through two
// tiny layers lands near 1e-7, so 1e-4 leaves room only for rounding, not
// for a wrong convention (a wrong RoPE layout or a missing bias gives
// errors near 1).
const goldenRel = 1e-4

type errStats struct{ rel, maxAbs float64 }

// compare returns the relative L2 error of got against want (float64) and
// the largest absolute difference, over the rows keep selects (all when nil).
func compare(got []float32, want []float64, rowLen int, keep func(row int) bool) errStats {
	var num, den, maxAbs float64
	for i, w := range want {
		if keep != nil && !keep(i/rowLen) {
			continue
		}
		d := float64(got[i]) - w
		num += d * d
		den += w * w
		maxAbs = max(maxAbs, math.Abs(d))
	}
	return errStats{math.Sqrt(num / max(den, 1e-300)), maxAbs}
}

func readExpected(t *testing.T, dir string) *safetensors.File {
	t.Helper()
	f, err := safetensors.ReadFile(filepath.Join(dir, "expected.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func f64(t *testing.T, f *safetensors.File, name string) []float64 {
	t.Helper()
	v, _, err := f.Float64s(name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func ints(t *testing.T, f *safetensors.File, name string) []int {
	t.Helper()
	v, _, err := f.Int64s(name)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

func goldenCases(t *testing.T) []string {
	entries, err := os.ReadDir(goldenDir)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	if len(dirs) < 10 {
		t.Fatalf("only %d golden model cases in %s", len(dirs), goldenDir)
	}
	return dirs
}

func TestGoldenModels(t *testing.T) {
	for _, name := range goldenCases(t) {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(goldenDir, name)
			m, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			exp := readExpected(t, dir)
			switch m := m.(type) {
			case *Decoder:
				checkDecoderGolden(t, m, exp)
			case *Bert:
				checkBertGolden(t, m, exp)
			default:
				t.Fatalf("unexpected model type %T", m)
			}
		})
	}
}

func checkDecoderGolden(t *testing.T, m *Decoder, exp *safetensors.File) {
	ids := ints(t, exp, "input_ids")
	s, err := m.NewState(0)
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Forward(s, ids, ForwardOptions{AllLogits: true, Hidden: true})
	if err != nil {
		t.Fatal(err)
	}
	V := m.Config.Vocab
	want := f64(t, exp, "logits_f64")
	torch := f64(t, exp, "logits")
	ours := compare(out.Logits.Data(), want, V, nil)
	torch32 := make([]float32, len(torch))
	for i, v := range torch {
		torch32[i] = float32(v)
	}
	theirs := compare(torch32, want, V, nil)
	t.Logf("logits [%d,%d]: attn rel %.2e max abs %.2e; PyTorch float32 rel %.2e max abs %.2e", len(ids), V, ours.rel, ours.maxAbs, theirs.rel, theirs.maxAbs)
	if ours.rel > goldenRel {
		t.Errorf("logits relative error %.3g > %.0e", ours.rel, goldenRel)
	}
	// The project-wide bound: no worse than twice PyTorch float32's own
	// error on the same case, plus one float32 rounding.
	if ours.rel > 2*theirs.rel+0x1p-24 {
		t.Errorf("logits relative error %.3g > 2 × PyTorch's %.3g + 2^-24", ours.rel, theirs.rel)
	}
	hs := compare(out.Hidden.Data(), f64(t, exp, "hidden_states_f64"), m.Config.Dim, nil)
	if hs.rel > goldenRel {
		t.Errorf("hidden states relative error %.3g > %.0e", hs.rel, goldenRel)
	}

	// Decoding one token at a time through the KV cache must give the same
	// logits as the whole prompt at once: the same products in a different
	// grouping, so within a few float32 roundings (1e-5 relative).
	s.Reset()
	for i, id := range ids {
		o, err := m.Forward(s, []int{id}, ForwardOptions{})
		if err != nil {
			t.Fatal(err)
		}
		row := out.Logits.Data()[i*V : (i+1)*V]
		var num, den float64
		for j, v := range o.Logits.Data() {
			d := float64(v - row[j])
			num += d * d
			den += float64(row[j]) * float64(row[j])
		}
		if r := math.Sqrt(num / den); r > 1e-5 {
			t.Fatalf("position %d: incremental logits differ from the full pass by %.3g relative", i, r)
		}
	}
	if s.Len() != len(ids) {
		t.Errorf("state holds %d positions, want %d", s.Len(), len(ids))
	}
}

func checkBertGolden(t *testing.T, m *Bert, exp *safetensors.File) {
	ids := ints(t, exp, "input_ids")
	info, _ := exp.Info("input_ids")
	B, T := info.Shape[0], info.Shape[1]
	mask := make([]bool, B*T)
	for i, v := range ints(t, exp, "attention_mask") {
		mask[i] = v == 1
	}
	in := BertInput{B: B, T: T, IDs: ids, TypeIDs: ints(t, exp, "token_type_ids"), Mask: mask}
	out, err := m.Forward(in, true)
	if err != nil {
		t.Fatal(err)
	}
	D := m.Config.Dim
	// Padded query rows attend like any other in both implementations, but
	// they are meaningless; compare real rows only.
	real := func(row int) bool { return mask[row%(B*T)] }
	for _, c := range []struct {
		name string
		got  *tensor.Tensor
		keep func(int) bool
	}{
		{"last_hidden_state", out.Last, real},
		{"hidden_states", out.Hidden, real},
		{"pooler_output", out.Pooled, nil},
	} {
		e := compare(c.got.Data(), f64(t, exp, c.name+"_f64"), D, c.keep)
		t.Logf("%s: rel %.2e max abs %.2e", c.name, e.rel, e.maxAbs)
		if e.rel > goldenRel {
			t.Errorf("%s relative error %.3g > %.0e", c.name, e.rel, goldenRel)
		}
	}
	emb, err := MeanPool(out.Last, mask)
	if err != nil {
		t.Fatal(err)
	}
	if e := compare(emb.Data(), f64(t, exp, "sentence_embedding_f64"), D, nil); e.rel > goldenRel {
		t.Errorf("sentence embedding relative error %.3g > %.0e", e.rel, goldenRel)
	}
}

// Attention weights asked for through OnAttention are rows of the softmax
// the model used: non-negative, summing to 1, zero above the causal
// diagonal; and asking for them changes no output bit.
func TestAttentionWeightsHook(t *testing.T) {
	m, err := Load(filepath.Join(goldenDir, "llama"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	d := m.(*Decoder)
	ids := []int{1, 5, 9, 2, 7, 3}
	s, _ := d.NewState(0)
	plain, err := d.Forward(s, ids, ForwardOptions{AllLogits: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Reset()
	calls := 0
	with, err := d.Forward(s, ids, ForwardOptions{AllLogits: true, OnAttention: func(layer, head int, w *tensor.Tensor) error {
		calls++
		T, S := w.Dim(0), w.Dim(1)
		for i := range T {
			var sum float64
			for j := range S {
				v := w.At(i, j)
				if v < 0 || (j > i && v != 0) {
					t.Fatalf("layer %d head %d: w[%d,%d] = %v", layer, head, i, j, v)
				}
				sum += float64(v)
			}
			if math.Abs(sum-1) > 1e-5 {
				t.Fatalf("layer %d head %d row %d sums to %v", layer, head, i, sum)
			}
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if calls != d.Config.Layers*d.Config.Heads {
		t.Errorf("%d calls, want %d", calls, d.Config.Layers*d.Config.Heads)
	}
	for i, v := range plain.Logits.Data() {
		if math.Float32bits(v) != math.Float32bits(with.Logits.Data()[i]) {
			t.Fatalf("logit %d differs when weights are asked for: %v vs %v", i, v, with.Logits.Data()[i])
		}
	}
}
