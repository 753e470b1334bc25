package train

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/attn-go/attn/nn"
)

// RunConfig is everything that defines a training run; it is saved in
// every checkpoint, so a resumed run continues with the same settings.
type RunConfig struct {
	Task        string               `json:"task"`
	Seed        uint64               `json:"seed"`
	Steps       int                  `json:"steps"`
	BatchSize   int                  `json:"batch_size"`
	Arch        Arch                 `json:"arch,omitempty"`    // ArchTransformer (default) or ArchGPT
	Model       nn.TransformerConfig `json:"model"`             // the Transformer's, when Arch is transformer
	GPT         nn.GPTConfig         `json:"gpt,omitempty"`     // the GPT's, when Arch is gpt
	Encoder     nn.EncoderConfig     `json:"encoder,omitempty"` // the encoder's, when Arch is encoder
	LR          float64              `json:"lr"`                // peak learning rate
	Warmup      int                  `json:"warmup"`            // steps of linear warm-up
	Schedule    string               `json:"schedule"`
	WeightDecay float64              `json:"weight_decay"`
	ClipNorm    float64              `json:"clip_norm"`
	Smoothing   float32              `json:"label_smoothing"`
	EvalEvery   int                  `json:"eval_every"`
	SaveEvery   int                  `json:"save_every"`
	EvalSize    int                  `json:"eval_size"`
}

// DefaultRunConfig returns the settings attn train uses for a task when no
// flag overrides them: a small post-LN Transformer, AdamW with the paper's
// β2 and ε, a cosine schedule after a linear warm-up, gradient clipping at
// 1 and label smoothing 0.1 (the paper's).
func DefaultRunConfig(task string) (RunConfig, error) {
	t, err := NewTask(task)
	if err != nil {
		return RunConfig{}, err
	}
	mc, err := nn.TransformerPreset("small", t.Vocab())
	if err != nil {
		return RunConfig{}, err
	}
	rc := RunConfig{
		Task: task, Seed: 1, Steps: 800, BatchSize: 64, Model: mc,
		LR: 1e-3, Warmup: 100, Schedule: "cosine", WeightDecay: 0.01, ClipNorm: 1, Smoothing: 0.1,
		EvalEvery: 250, SaveEvery: 250, EvalSize: 500,
	}
	if task == "add" {
		rc.Steps = 4000
	}
	return rc, nil
}

// Validate checks the settings before any work.
func (rc RunConfig) Validate() error {
	t, err := NewTask(rc.Task)
	if err != nil {
		return err
	}
	switch rc.arch() {
	case ArchTransformer:
		if err := rc.Model.Validate(); err != nil {
			return err
		}
		if rc.Model.Vocab != t.Vocab() {
			return fmt.Errorf("train: model vocab %d, task %s needs %d", rc.Model.Vocab, rc.Task, t.Vocab())
		}
		if rc.Model.Context < max(t.MaxSrc(), t.MaxTgt()+1) {
			return fmt.Errorf("train: model max_len %d is shorter than task %s's sequences (%d)", rc.Model.Context, rc.Task, max(t.MaxSrc(), t.MaxTgt()+1))
		}
	case ArchGPT:
		if err := rc.GPT.Validate(); err != nil {
			return err
		}
		if rc.GPT.Vocab != t.Vocab() {
			return fmt.Errorf("train: model vocab %d, task %s needs %d", rc.GPT.Vocab, rc.Task, t.Vocab())
		}
		if need := t.MaxSrc() + t.MaxTgt() + 2; rc.GPT.Context < need {
			return fmt.Errorf("train: gpt block_size %d is shorter than task %s's source, BOS, target and EOS (%d)", rc.GPT.Context, rc.Task, need)
		}
	case ArchEncoder:
		if err := rc.Encoder.Validate(); err != nil {
			return err
		}
		if rc.Task == "add" {
			return fmt.Errorf("train: an encoder-only model labels each source token; task add's target is not as long as its source (use copy, reverse or sort)")
		}
		if rc.Encoder.Vocab != t.Vocab() {
			return fmt.Errorf("train: model vocab %d, task %s needs %d", rc.Encoder.Vocab, rc.Task, t.Vocab())
		}
		if rc.Encoder.Context < t.MaxSrc() {
			return fmt.Errorf("train: encoder max_len %d is shorter than task %s's sources (%d)", rc.Encoder.Context, rc.Task, t.MaxSrc())
		}
	default:
		return fmt.Errorf("train: unknown architecture %q (%s, %s, %s)", rc.Arch, ArchTransformer, ArchGPT, ArchEncoder)
	}
	switch {
	case rc.Steps < 1 || rc.BatchSize < 1 || rc.BatchSize > 1<<16:
		return fmt.Errorf("train: steps %d and batch size %d, want steps >= 1 and batch 1..65536", rc.Steps, rc.BatchSize)
	case !(rc.LR > 0) || math.IsInf(rc.LR, 0):
		return fmt.Errorf("train: learning rate %v, want > 0", rc.LR)
	case rc.Warmup < 0 || rc.EvalEvery < 0 || rc.SaveEvery < 0 || rc.EvalSize < 0:
		return fmt.Errorf("train: warmup, eval_every, save_every and eval_size must be >= 0")
	case rc.Schedule != "cosine" && rc.Schedule != "noam" && rc.Schedule != "constant":
		return fmt.Errorf("train: schedule %q, want cosine, noam or constant", rc.Schedule)
	case !(rc.Smoothing >= 0 && rc.Smoothing < 1):
		return fmt.Errorf("train: label smoothing %v, want [0, 1)", rc.Smoothing)
	case !(rc.ClipNorm >= 0) || !(rc.WeightDecay >= 0):
		return fmt.Errorf("train: clip norm %v and weight decay %v must be >= 0", rc.ClipNorm, rc.WeightDecay)
	}
	return nil
}

// arch is the run's architecture, the Transformer when unset.
func (rc RunConfig) arch() Arch {
	if rc.Arch == "" {
		return ArchTransformer
	}
	return rc.Arch
}

// UseGPT switches the run to a decoder-only model of the "small" size
// with a context that fits the task's source, BOS, target and EOS.
func (rc *RunConfig) UseGPT() error {
	t, err := NewTask(rc.Task)
	if err != nil {
		return err
	}
	g, err := nn.GPTPreset("small", t.Vocab())
	if err != nil {
		return err
	}
	g.Context = t.MaxSrc() + t.MaxTgt() + 2
	rc.Arch, rc.GPT = ArchGPT, g
	return nil
}

// UseEncoder switches the run to an encoder-only model with the
// encoder half of the Transformer's settings.
func (rc *RunConfig) UseEncoder() {
	m := rc.Model
	rc.Arch = ArchEncoder
	rc.Encoder = nn.EncoderConfig{Vocab: m.Vocab, DModel: m.DModel, Heads: m.Heads, DFF: m.DFF, Layers: m.EncLayers,
		Dropout: m.Dropout, Context: m.Context, NormFirst: m.NormFirst, Eps: m.Eps}
}

func (rc RunConfig) schedule() Schedule {
	switch rc.Schedule {
	case "noam":
		// The paper's schedule, scaled so that its peak (at the end of the
		// warm-up) is LR.
		d := rc.Model.DModel
		switch rc.arch() {
		case ArchGPT:
			d = rc.GPT.DModel
		case ArchEncoder:
			d = rc.Encoder.DModel
		}
		peak := math.Pow(float64(d), -0.5) * math.Pow(float64(max(rc.Warmup, 1)), -0.5)
		return NoamSchedule{DModel: d, Warmup: max(rc.Warmup, 1), Factor: rc.LR / peak}
	case "constant":
		return CosineSchedule{Base: rc.LR, Min: rc.LR, Warmup: rc.Warmup, Total: rc.Warmup}
	}
	return CosineSchedule{Base: rc.LR, Min: rc.LR / 10, Warmup: rc.Warmup, Total: rc.Steps}
}

// Streams of examples: training batches and the held-out set come from
// disjoint generator streams of the same seed.
const (
	trainStream = 0x7472616e
	evalStream  = 0x6576616c
)

// StepInfo reports one training step.
type StepInfo struct {
	Step, Steps int
	Loss        float64 // mean over the batch's label tokens
	Accuracy    float64 // teacher-forced token accuracy of the batch
	LR          float64
	GradNorm    float64
	Tokens      int // label tokens in the batch
	Elapsed     time.Duration
}

// EvalInfo reports an evaluation on the held-out set.
type EvalInfo struct {
	Step          int     `json:"step"`
	Loss          float64 `json:"loss"`
	TokenAccuracy float64 `json:"token_accuracy"`
	ExactMatch    float64 `json:"exact_match"`
	Examples      int     `json:"examples"`
}

// Hooks receive progress; any may be nil.
type Hooks struct {
	OnStep func(StepInfo)
	OnEval func(EvalInfo)
	OnSave func(step int)
}

// Result is what a run did.
type Result struct {
	Losses    []float64 // per step run in this call, in order
	FirstStep int       // the step number of Losses[0]
	Eval      EvalInfo  // the last evaluation
	Elapsed   time.Duration
}

// ErrInterrupted is returned (wrapped) when the context is cancelled; a
// checkpoint of the last finished step has been saved first.
var ErrInterrupted = errors.New("train: interrupted")

// Train runs (or, with resume, continues) a training run and keeps its
// checkpoint in dir. Batch i of the run is drawn from example indices
// i·B … i·B+B−1 of the seeded training stream, and dropout masks from
// (seed, step), so a resumed run computes exactly the steps an
// uninterrupted one would have.
func Train(ctx context.Context, rc RunConfig, dir string, resume bool, hooks Hooks) (*Result, error) {
	var start int
	var model Model
	adam := &Adam{Beta1: 0.9, Beta2: 0.98, Eps: 1e-9, WeightDecay: rc.WeightDecay, Decoupled: true}
	if resume {
		saved, _, err := ReadRunConfig(dir)
		if err != nil {
			return nil, err
		}
		steps := rc.Steps
		rc = saved
		rc.Steps = max(steps, saved.Steps)
		if model, err = newModel(rc); err != nil {
			return nil, err
		}
		adam.WeightDecay = rc.WeightDecay
		if _, start, err = LoadCheckpoint(dir, model.Params(), adam); err != nil {
			return nil, err
		}
	}
	if err := rc.Validate(); err != nil {
		return nil, err
	}
	if model == nil {
		var err error
		if model, err = newModel(rc); err != nil {
			return nil, err
		}
	}
	task, _ := NewTask(rc.Task)
	params := model.Params()
	lg, err := openLossLog(dir, start)
	if err != nil {
		return nil, err
	}
	defer lg.Close()
	sched := rc.schedule()
	res := &Result{FirstStep: start + 1}
	t0 := time.Now()
	save := func(step int) error {
		if err := SaveCheckpoint(dir, &Checkpoint{Run: rc, Step: step, Params: params, Adam: adam}); err != nil {
			return err
		}
		if hooks.OnSave != nil {
			hooks.OnSave(step)
		}
		return nil
	}
	if start == 0 {
		if err := save(0); err != nil {
			return nil, err
		}
	}
	for step := start + 1; step <= rc.Steps; step++ {
		if ctx.Err() != nil {
			if err := save(step - 1); err != nil {
				return res, err
			}
			return res, fmt.Errorf("%w at step %d; checkpoint saved in %s", ErrInterrupted, step-1, dir)
		}
		bt := MakeBatch(task, rc.Seed^trainStream, uint64(step-1)*uint64(rc.BatchSize), rc.BatchSize)
		lr := sched.LR(step)
		st, gn, err := Step(model, adam, bt, lr, rc.ClipNorm, nn.TrainOptions{Dropout: true, Seed: stepSeed(rc.Seed, step), Smoothing: rc.Smoothing})
		if err != nil {
			return res, fmt.Errorf("train: step %d: %v; stopped, the last good checkpoint in %s is kept", step, err, dir)
		}
		loss := st.Sum / float64(max(st.Count, 1))
		res.Losses = append(res.Losses, loss)
		if _, err := fmt.Fprintf(lg, "%d\t%s\n", step, strconv.FormatFloat(loss, 'g', -1, 64)); err != nil {
			return res, fmt.Errorf("train: loss log: %w", err)
		}
		if hooks.OnStep != nil {
			hooks.OnStep(StepInfo{Step: step, Steps: rc.Steps, Loss: loss, Accuracy: float64(st.Correct) / float64(max(st.Count, 1)),
				LR: lr, GradNorm: gn, Tokens: st.Count, Elapsed: time.Since(t0)})
		}
		last := step == rc.Steps
		if rc.EvalEvery > 0 && (step%rc.EvalEvery == 0 || last) || last {
			ev, err := Evaluate(model, task, rc.Seed, rc.EvalSize)
			if err != nil {
				return res, err
			}
			ev.Step = step
			res.Eval = ev
			if hooks.OnEval != nil {
				hooks.OnEval(ev)
			}
		}
		if rc.SaveEvery > 0 && step%rc.SaveEvery == 0 || last {
			if err := save(step); err != nil {
				return res, err
			}
		}
	}
	res.Elapsed = time.Since(t0)
	return res, nil
}

// Step is one optimisation step on batch b: the gradients zeroed, the loss
// and its backward (opt with Backward set), the gradients clipped to a
// global norm of clip (0: no clipping), and one AdamW update at learning
// rate lr. It returns the loss statistics and the gradient norm before
// clipping. A loss or gradient norm that is NaN or infinite is an error,
// and then the parameters are left as they were.
func Step(model Model, adam *Adam, b *Batch, lr, clip float64, opt nn.TrainOptions) (nn.LossStats, float64, error) {
	params := model.Params()
	ZeroGrads(params)
	opt.Backward = true
	st, err := model.Loss(b, opt)
	if err != nil {
		return st, 0, err
	}
	if math.IsNaN(st.Sum) || math.IsInf(st.Sum, 0) {
		return st, 0, fmt.Errorf("loss is %v", st.Sum)
	}
	gn := ClipGradNorm(params, clip)
	if math.IsNaN(gn) || math.IsInf(gn, 0) {
		return st, gn, fmt.Errorf("gradient norm is %v", gn)
	}
	return st, gn, adam.Update(params, lr)
}

// stepSeed derives the dropout seed of a step (splitmix64 of seed and step).
func stepSeed(seed uint64, step int) uint64 {
	z := seed + uint64(step)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (b *Batch) seq2seq() *nn.Seq2SeqBatch {
	return &nn.Seq2SeqBatch{B: b.B, S: b.S, T: b.T, Src: b.Src, SrcLen: b.SrcLen, TgtIn: b.TgtIn, TgtOut: b.TgtOut, Ignore: Ignore}
}

// Evaluate scores a model on n held-out examples of the task (the same
// ones for a given seed): the teacher-forced loss and token accuracy, and
// the exact-match rate of greedy decoding.
func Evaluate(model Model, task Task, seed uint64, n int) (EvalInfo, error) {
	ev := EvalInfo{Examples: n}
	if n == 0 {
		return ev, nil
	}
	var sum float64
	var count, correct, exact int
	const chunk = 250
	for first := 0; first < n; first += chunk {
		b := min(chunk, n-first)
		bt := MakeBatch(task, seed^evalStream, uint64(first), b)
		st, err := model.Loss(bt, nn.TrainOptions{Smoothing: 0})
		if err != nil {
			return ev, err
		}
		sum += st.Sum
		count += st.Count
		correct += st.Correct
		outs, err := model.Greedy(bt.Sources, task.MaxTgt()+1)
		if err != nil {
			return ev, err
		}
		for i, o := range outs {
			if equalInts(o, bt.Targets[i]) {
				exact++
			}
		}
	}
	ev.Loss = sum / float64(max(count, 1))
	ev.TokenAccuracy = float64(correct) / float64(max(count, 1))
	ev.ExactMatch = float64(exact) / float64(n)
	return ev, nil
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// LoadModel rebuilds the model saved in dir (its parameters only).
func LoadModel(dir string) (Model, RunConfig, int, error) {
	rc, _, err := ReadRunConfig(dir)
	if err != nil {
		return nil, rc, 0, err
	}
	if err := rc.Validate(); err != nil {
		return nil, rc, 0, fmt.Errorf("train: checkpoint in %s: %w", dir, err)
	}
	m, err := newModel(rc)
	if err != nil {
		return nil, rc, 0, err
	}
	_, step, err := LoadCheckpoint(dir, m.Params(), nil)
	if err != nil {
		return nil, rc, 0, err
	}
	return m, rc, step, nil
}

// LossLogFile is the run's loss history in its folder: one "step<TAB>loss"
// line per step, the loss printed exactly (shortest round-trip form).
const LossLogFile = "losses.tsv"

// openLossLog opens the loss log for appending after step start. Lines past
// start (written after the checkpoint a resumed run starts from) are
// dropped first, so the log always reads as one uninterrupted run.
func openLossLog(dir string, start int) (*os.File, error) {
	path := filepath.Join(dir, LossLogFile)
	var keep []byte
	if start > 0 {
		old, err := os.ReadFile(path)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("train: loss log: %w", err)
		}
		sc := bufio.NewScanner(bytes.NewReader(old))
		for sc.Scan() {
			line := sc.Bytes()
			tab := bytes.IndexByte(line, '\t')
			if tab < 0 {
				break
			}
			n, err := strconv.Atoi(string(line[:tab]))
			if err != nil || n > start {
				break
			}
			keep = append(append(keep, line...), '\n')
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	// Rewrite by rename, so a crash here cannot lose the history.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, keep, 0o644); err != nil {
		return nil, fmt.Errorf("train: loss log: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("train: loss log: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("train: loss log: %w", err)
	}
	return f, nil
}
