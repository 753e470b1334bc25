package models

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/attn-go/attn/internal/numcheck"
	"github.com/attn-go/attn/safetensors"
	"github.com/attn-go/attn/tensor"
)

// The golden cases are tiny random-weight models saved with Hugging Face
// (or llama2.c) names by scripts/golden/gen_models.py, with the outputs of a
// PyTorch reference written from the published architectures, in float32
// and float64.
const goldenDir = "../testdata/golden/models"

// goldenRel is the bound on ‖ours − float64‖ / ‖float64‖ for logits,
// hidden states and BERT outputs: 1e-4. Float32 through two
// tiny layers lands near 1e-7, so 1e-4 leaves room only for rounding, not
// for a wrong convention (a wrong RoPE layout or a missing bias gives
// errors near 1).
const goldenRel = 1e-4

// keepRows returns the rows of v (rowLen values each) that keep selects,
// all of them when keep is nil.
func keepRows[T numcheck.Float](v []T, rowLen int, keep func(row int) bool) []T {
	if keep == nil {
		return v
	}
	var out []T
	for r := 0; r*rowLen < len(v); r++ {
		if keep(r) {
			out = append(out, v[r*rowLen:min((r+1)*rowLen, len(v))]...)
		}
	}
	return out
}

// goldenRows collects the package's golden rows; TestMain prints them.
var goldenRows numcheck.Table

// TestMain prints the golden rows of the tests run as one table, under -v.
func TestMain(m *testing.M) { os.Exit(goldenRows.Run(m)) }

// checkGolden measures got and PyTorch float32's answer (exp's <name>)
// against the float64 reference (<name>_f64), over the rows keep selects,
// holds got to b and records the row.
func checkGolden(t *testing.T, exp *safetensors.File, caseName, name string, got []float32, rowLen int, keep func(int) bool, b func(torch numcheck.Errors) numcheck.Bound) numcheck.Errors {
	t.Helper()
	want := keepRows(f64(t, exp, name+"_f64"), rowLen, keep)
	ours := numcheck.Measure(keepRows(got, rowLen, keep), want)
	torch := numcheck.Measure(keepRows(f64(t, exp, name), rowLen, keep), want)
	goldenRows.Check(t, numcheck.Row{Case: caseName + " " + name, Ours: ours, Torch: torch, Bound: b(torch)})
	return ours
}

// goldenTol is the goldenRel bound, whatever PyTorch's error.
func goldenTol(numcheck.Errors) numcheck.Bound { return numcheck.Tol(goldenRel) }

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
				checkDecoderGolden(t, name, m, exp)
			case *Bert:
				checkBertGolden(t, name, m, exp)
			default:
				t.Fatalf("unexpected model type %T", m)
			}
		})
	}
}

func checkDecoderGolden(t *testing.T, name string, m *Decoder, exp *safetensors.File) {
	ids := ints(t, exp, "input_ids")
	s, err := m.NewState(0)
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Forward(s, ids, ForwardOptions{AllLogits: true, HiddenStates: true})
	if err != nil {
		t.Fatal(err)
	}
	V := m.Config.Vocab
	// The project-wide bound: no worse than twice PyTorch float32's own
	// error on the same case, plus half a float32 ulp; and goldenRel.
	ours := checkGolden(t, exp, name, "logits", out.Logits.Data(), V, nil, func(torch numcheck.Errors) numcheck.Bound {
		return numcheck.GoldenRel(torch, numcheck.HalfULP)
	})
	numcheck.Check(t, "logits", ours, numcheck.Tol(goldenRel))
	checkGolden(t, exp, name, "hidden_states", out.HiddenStates.Data(), m.Config.DModel, nil, goldenTol)

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
		numcheck.RequireRel(t, fmt.Sprintf("position %d: incremental logits against the full pass", i), o.Logits.Data(), row, 1e-5)
	}
	if s.Len() != len(ids) {
		t.Errorf("state holds %d positions, want %d", s.Len(), len(ids))
	}
}

func checkBertGolden(t *testing.T, name string, m *Bert, exp *safetensors.File) {
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
	D := m.Config.DModel
	// Padded query rows attend like any other in both implementations, but
	// they are meaningless; compare real rows only.
	real := func(row int) bool { return mask[row%(B*T)] }
	emb, err := MeanPool(out.Last, mask)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		got  *tensor.Tensor
		keep func(int) bool
	}{
		{"last_hidden_state", out.Last, real},
		{"hidden_states", out.Hidden, real},
		{"pooler_output", out.Pooled, nil},
		{"sentence_embedding", emb, nil},
	} {
		checkGolden(t, exp, name, c.name, c.got.Data(), D, c.keep, goldenTol)
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
				if numcheck.Below(float64(v), 0) || (j > i && v != 0) {
					t.Fatalf("layer %d head %d: w[%d,%d] = %v", layer, head, i, j, v)
				}
				sum += float64(v)
			}
			if numcheck.Exceeds(math.Abs(sum-1), 1e-5) {
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
