package train

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/attn-go/attn/internal/numcheck"
	"github.com/attn-go/attn/internal/parallel"
)

func tinyRun(t *testing.T, task string, steps int) RunConfig {
	t.Helper()
	rc, err := DefaultRunConfig(task)
	if err != nil {
		t.Fatal(err)
	}
	rc.Steps, rc.BatchSize, rc.EvalEvery, rc.SaveEvery, rc.EvalSize = steps, 8, 0, 5, 16
	rc.Model.DModel, rc.Model.Heads, rc.Model.DFF, rc.Model.EncLayers, rc.Model.DecLayers = 16, 2, 32, 1, 1
	rc.Model.Dropout = 0.1 // dropout masks must be reproduced on resume too
	rc.Warmup = 3
	return rc
}

// A run stopped after a checkpoint and resumed computes bit for bit the
// losses of the same run done in one go: examples, dropout masks and
// optimizer state all continue exactly.
func TestResumeIsExact(t *testing.T) {
	t.Run("transformer", func(t *testing.T) { testResume(t, tinyRun(t, "reverse", 17)) })
	t.Run("gpt", func(t *testing.T) {
		rc := tinyRun(t, "add", 17)
		if err := rc.UseGPT(); err != nil {
			t.Fatal(err)
		}
		rc.GPT.DModel, rc.GPT.Heads, rc.GPT.Layers, rc.GPT.Dropout = 16, 2, 1, 0.1
		testResume(t, rc)
	})
	t.Run("encoder", func(t *testing.T) {
		rc := tinyRun(t, "sort", 17)
		rc.UseEncoder()
		testResume(t, rc)
	})
}

func testResume(t *testing.T, rc RunConfig) {
	whole, err := Train(context.Background(), rc, t.TempDir(), false, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := Train(ctx, rc, dir, false, Hooks{OnStep: func(s StepInfo) {
		if s.Step == 10 {
			cancel()
		}
	}})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatal(err)
	}
	b, err := Train(context.Background(), rc, dir, true, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	if b.FirstStep != 11 {
		t.Fatalf("resumed at step %d, want 11", b.FirstStep)
	}
	got := append(a.Losses, b.Losses...)
	for i := range whole.Losses {
		if math.Float64bits(got[i]) != math.Float64bits(whole.Losses[i]) {
			t.Fatalf("step %d: loss %v after resuming, %v uninterrupted", i+1, got[i], whole.Losses[i])
		}
	}
	log, err := os.ReadFile(filepath.Join(dir, LossLogFile))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(log), "\n"); n != 17 {
		t.Errorf("loss log has %d lines, want 17", n)
	}
}

// Cancelling saves the last finished step, and resuming continues from it.
func TestInterruptSavesCheckpoint(t *testing.T) {
	rc := tinyRun(t, "copy", 12)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	_, err := Train(ctx, rc, dir, false, Hooks{OnStep: func(s StepInfo) {
		if s.Step == 7 {
			cancel()
		}
	}})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("error %v, want ErrInterrupted", err)
	}
	_, _, step, err := LoadModel(dir)
	if err != nil || step != 7 {
		t.Fatalf("checkpoint at step %d (%v), want 7", step, err)
	}
}

func TestBadRuns(t *testing.T) {
	if _, err := DefaultRunConfig("unscramble"); err == nil || !strings.Contains(err.Error(), "unknown task") {
		t.Errorf("unknown task: %v", err)
	}
	rc := tinyRun(t, "sort", 3)
	for _, c := range []struct {
		name string
		mod  func(*RunConfig)
		sub  string
	}{
		{"heads", func(r *RunConfig) { r.Model.Heads = 3 }, "does not divide"},
		{"layers", func(r *RunConfig) { r.Model.EncLayers = 0 }, "layers"},
		{"lr", func(r *RunConfig) { r.LR = math.NaN() }, "learning rate"},
		{"vocab", func(r *RunConfig) { r.Model.Vocab = 40 }, "vocab"},
		{"schedule", func(r *RunConfig) { r.Schedule = "linear" }, "schedule"},
	} {
		r := rc
		c.mod(&r)
		if _, err := Train(context.Background(), r, t.TempDir(), false, Hooks{}); err == nil || !strings.Contains(err.Error(), c.sub) {
			t.Errorf("%s: %v, want an error containing %q", c.name, err, c.sub)
		}
	}
	// A checkpoint of another model is refused, naming the tensor.
	dir := t.TempDir()
	if _, err := Train(context.Background(), rc, dir, false, Hooks{}); err != nil {
		t.Fatal(err)
	}
	other := rc
	other.Model.DFF = 48
	m, err := newModel(other)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadCheckpoint(dir, m.Params(), nil); err == nil || !strings.Contains(err.Error(), "another model") {
		t.Errorf("loading a checkpoint into another model: %v", err)
	}
	// Divergence stops with a clear message and keeps the last checkpoint.
	div := rc
	div.LR = 1e30
	div.Steps, div.SaveEvery = 6, 1
	ddir := t.TempDir()
	_, err = Train(context.Background(), div, ddir, false, Hooks{})
	if err == nil || !strings.Contains(err.Error(), "last good checkpoint") {
		t.Fatalf("diverging run: %v", err)
	}
	if _, _, _, err := LoadModel(ddir); err != nil {
		t.Errorf("the last checkpoint does not load after divergence: %v", err)
	}
}

// Training losses do not depend on how many threads run them: the kernels
// on the training path split their outputs among workers, never a sum.
func TestLossesIndependentOfGOMAXPROCS(t *testing.T) {
	rc := tinyRun(t, "sort", 6)
	rc.Model.DModel, rc.Model.Heads, rc.Model.DFF = 64, 4, 128 // enough work to split
	rc.BatchSize = 32
	var runs [][]float64
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 4} {
		parallel.Shutdown()
		runtime.GOMAXPROCS(procs)
		res, err := Train(context.Background(), rc, t.TempDir(), false, Hooks{})
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, res.Losses)
	}
	parallel.Shutdown()
	for i := range runs[0] {
		if math.Float64bits(runs[0][i]) != math.Float64bits(runs[1][i]) {
			t.Fatalf("step %d: loss %v with 1 thread, %v with 4", i+1, runs[0][i], runs[1][i])
		}
	}
}

// The decoder-only model learns a task through the same loop: copy with
// a 2-layer GPT goes from chance to most tokens right in 150 steps.
func TestGPTLearnsCopy(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("trains for a few seconds (minutes under -race)")
	}
	rc, err := DefaultRunConfig("copy")
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.UseGPT(); err != nil {
		t.Fatal(err)
	}
	rc.Steps, rc.BatchSize, rc.EvalEvery, rc.SaveEvery, rc.EvalSize, rc.LR = 150, 32, 0, 0, 64, 3e-3
	res, err := Train(context.Background(), rc, t.TempDir(), false, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	// Chance is 1 in 13 per token; a model that learned to attend to the
	// source gets most of them.
	if numcheck.Below(res.Eval.TokenAccuracy, 0.5) {
		t.Errorf("token accuracy %.3f after %d steps (loss %.3f → %.3f)", res.Eval.TokenAccuracy, rc.Steps, res.Losses[0], res.Losses[len(res.Losses)-1])
	}
	t.Logf("gpt copy: loss %.3f → %.3f, token accuracy %.3f, exact match %.3f", res.Losses[0], res.Losses[len(res.Losses)-1], res.Eval.TokenAccuracy, res.Eval.ExactMatch)
}
