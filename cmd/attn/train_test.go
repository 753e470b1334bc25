package main

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attn-go/attn/safetensors"
	"github.com/attn-go/attn/train"
)

// TestMain lets a test run the CLI in a child process (this test binary
// started again with ATTN_CLI_CHILD=1), so that it can be killed.
func TestMain(m *testing.M) {
	if os.Getenv("ATTN_CLI_CHILD") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func checkpointStep(dir string) int {
	f, err := safetensors.ReadFile(filepath.Join(dir, train.CheckpointFile))
	if err != nil {
		return -1
	}
	var n int
	for _, c := range f.Metadata()["step"] {
		n = n*10 + int(c-'0')
	}
	return n
}

// loggedSteps counts the complete lines of a run's loss log.
func loggedSteps(dir string) int {
	b, _ := os.ReadFile(filepath.Join(dir, train.LossLogFile))
	return bytes.Count(b, []byte("\n"))
}

// A training process killed with SIGKILL after a checkpoint resumes to the
// same losses, bit for bit, as a run never interrupted.
func TestTrainKillAndResume(t *testing.T) {
	args := func(dir string) []string {
		return []string{"train", "--task", "reverse", "--out", dir, "--steps", "60", "--batch", "8", "--d-model", "16",
			"--heads", "2", "--d-ff", "32", "--layers", "1", "--dropout", "0.1", "--save-every", "5", "--eval-every", "1000", "--quiet"}
	}
	whole := t.TempDir()
	if code, _, errOut := runCLI(t, args(whole)...); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	dir := t.TempDir()
	child := exec.Command(os.Args[0], args(dir)...)
	child.Env = append(os.Environ(), "ATTN_CLI_CHILD=1")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for checkpointStep(dir) < 10 {
		if time.Now().After(deadline) {
			child.Process.Kill()
			t.Fatal("no checkpoint past step 10 within a minute")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	killedAt := checkpointStep(dir)
	if killedAt < 10 || killedAt >= 60 {
		t.Skipf("the child reached step %d before the kill; the machine is too fast for this test", killedAt)
	}
	if code, _, errOut := runCLI(t, append(args(dir), "--resume")...); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, errOut)
	}
	a, _ := os.ReadFile(filepath.Join(whole, train.LossLogFile))
	b, _ := os.ReadFile(filepath.Join(dir, train.LossLogFile))
	if string(a) != string(b) || strings.Count(string(a), "\n") != 60 {
		t.Errorf("losses after kill at step %d and resume differ from the uninterrupted run:\n%s\nvs\n%s", killedAt, b, a)
	}
}

func TestTrainCommandErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		sub  string
	}{
		{[]string{"train", "--task", "unscramble", "--out", dir}, "unknown task"},
		{[]string{"train", "--task", "reverse", "--out", dir, "--heads", "3"}, "does not divide"},
		{[]string{"train", "--task", "reverse", "--out", dir, "--resume"}, "no checkpoint"},
		{[]string{"eval", "--checkpoint", dir}, "no checkpoint"},
		{[]string{"eval", "--checkpoint", goldenModels + "llama"}, "no checkpoint"},
	} {
		code, _, errOut := runCLI(t, c.args...)
		if code != 1 || !strings.Contains(errOut, c.sub) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit 1 and one line containing %q", c.args, code, errOut, c.sub)
		}
	}
}

// SIGKILL at random moments, checkpointing every step so that kills land
// inside checkpoint writes too: after every kill the newest checkpoint
// loads, the run resumes from it, and once finished its losses equal an
// uninterrupted run's bit for bit.
func TestTrainRandomKills(t *testing.T) {
	if testing.Short() {
		t.Skip("kills training processes repeatedly")
	}
	args := func(dir string) []string {
		return []string{"train", "--task", "copy", "--out", dir, "--steps", "40", "--batch", "8", "--d-model", "16",
			"--heads", "2", "--d-ff", "32", "--layers", "1", "--save-every", "1", "--eval-every", "1000", "--quiet"}
	}
	whole := t.TempDir()
	if code, _, errOut := runCLI(t, args(whole)...); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(11, 12))
	last := -1
	for kill := 0; kill < 6; kill++ {
		a := args(dir)
		if last >= 0 {
			a = append(a, "--resume")
		}
		child := exec.Command(os.Args[0], a...)
		child.Env = append(os.Environ(), "ATTN_CLI_CHILD=1")
		if err := child.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(50+rng.IntN(400)) * time.Millisecond)
		child.Process.Kill()
		child.Wait()
		step := checkpointStep(dir)
		if step < 0 {
			if last < 0 {
				continue // killed before the first checkpoint: start again
			}
			t.Fatalf("kill %d: no loadable checkpoint after step %d", kill, last)
		}
		if _, _, got, err := train.LoadModel(dir); err != nil || got != step {
			t.Fatalf("kill %d: checkpoint at step %d does not load: %v", kill, step, err)
		}
		if step < last {
			t.Fatalf("kill %d: checkpoint went back from step %d to %d", kill, last, step)
		}
		last = step
	}
	a := args(dir)
	if last >= 0 {
		a = append(a, "--resume")
	}
	if code, _, errOut := runCLI(t, a...); code != 0 {
		t.Fatalf("final run: exit %d: %s", code, errOut)
	}
	want, _ := os.ReadFile(filepath.Join(whole, train.LossLogFile))
	got, _ := os.ReadFile(filepath.Join(dir, train.LossLogFile))
	if string(want) != string(got) {
		t.Errorf("losses after %d random kills differ from the uninterrupted run", 6)
	}
}

// --arch encoder trains the encoder-only model on a same-length task.
func TestTrainEncoderArch(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := runCLI(t, "train", "--task", "sort", "--arch", "encoder", "--out", dir, "--steps", "6", "--batch", "8",
		"--d-model", "16", "--heads", "2", "--d-ff", "32", "--layers", "1", "--quiet"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if code, out, errOut := runCLI(t, "eval", "--checkpoint", dir, "--json", "--examples", "8"); code != 0 || !strings.Contains(out, `"exact_match"`) {
		t.Errorf("eval: exit %d, %q %q", code, out, errOut)
	}
	if code, out, _ := runCLI(t, "predict", "--checkpoint", dir, "--input", "3141592"); code != 0 || len(strings.TrimSpace(out)) != 7 {
		t.Errorf("predict: exit %d, %q; want 7 symbols", code, out)
	}
}

// --arch gpt trains the decoder-only model through the same commands;
// eval and predict work on its checkpoint, and so do generate, run and viz.
func TestTrainGPTArch(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCLI(t, "train", "--task", "reverse", "--arch", "gpt", "--out", dir, "--steps", "6", "--batch", "8",
		"--d-model", "16", "--heads", "2", "--layers", "1", "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "trained 6 steps") {
		t.Errorf("output %q", out)
	}
	code, out, errOut = runCLI(t, "eval", "--checkpoint", dir, "--json", "--examples", "8")
	if code != 0 || !strings.Contains(out, `"exact_match"`) || !strings.Contains(out, `"token_accuracy"`) {
		t.Errorf("eval: exit %d, %q %q", code, out, errOut)
	}
	if code, out, errOut = runCLI(t, "predict", "--checkpoint", dir, "--input", "12345678"); code != 0 || strings.TrimSpace(out) == "" && errOut != "" {
		t.Errorf("predict: exit %d, %q %q", code, out, errOut)
	}
	// The inference commands take the folder too, through the cached
	// decoder: greedy generation continues "source BOS" with what predict
	// prints (predict drops special tokens; generate spells them).
	_, predicted, _ := runCLI(t, "predict", "--checkpoint", dir, "--input", "12345678")
	code, out, errOut = runCLI(t, "generate", "--model", dir, "--prompt", "12345678", "--temperature", "0", "-n", "17")
	if code != 0 {
		t.Fatalf("generate on a gpt checkpoint: exit %d, %q", code, errOut)
	}
	gen := strings.TrimPrefix(strings.TrimSpace(out), "12345678")
	gen = strings.NewReplacer("<pad>", "", "<bos>", "").Replace(gen)
	if gen != strings.TrimSpace(predicted) {
		t.Errorf("generate continues with %q, predict prints %q", gen, strings.TrimSpace(predicted))
	}
	logits := filepath.Join(t.TempDir(), "logits.safetensors")
	if code, _, errOut = runCLI(t, "run", "--model", dir, "--prompt", "1234", "--logits", logits); code != 0 {
		t.Errorf("run on a gpt checkpoint: exit %d, %q", code, errOut)
	}
	code, out, errOut = runCLI(t, "viz", "--model", dir, "--prompt", "12345678", "--out", filepath.Join(t.TempDir(), "x.png"))
	if code != 0 || !strings.Contains(out, "gpt attention for 9 tokens") {
		t.Errorf("viz on a gpt checkpoint: exit %d, %q %q", code, out, errOut)
	}
	for _, c := range []struct {
		args []string
		sub  string
	}{
		{[]string{"--arch", "rnn"}, "--arch"},
		{[]string{"--arch", "gpt", "--d-ff", "64"}, "--d-ff"},
		{[]string{"--arch", "gpt", "--heads", "3"}, "does not divide"},
		{[]string{"--arch", "encoder", "--task", "add"}, "encoder-only"},
	} {
		code, _, errOut := runCLI(t, append([]string{"train", "--task", "copy", "--out", t.TempDir()}, c.args...)...)
		if code != 1 || !strings.Contains(errOut, c.sub) {
			t.Errorf("%v: exit %d, %q; want an error about %s", c.args, code, errOut, c.sub)
		}
	}
}

// Ctrl-C (SIGINT) stops training cleanly: the last finished step is saved,
// the process says where and exits 0, and --resume continues from there.
func TestTrainSIGINT(t *testing.T) {
	dir := t.TempDir()
	child := exec.Command(os.Args[0], "train", "--task", "copy", "--out", dir, "--steps", "100000", "--batch", "8", "--d-model", "16",
		"--heads", "2", "--d-ff", "32", "--layers", "1", "--save-every", "100000", "--eval-every", "100000", "--quiet")
	child.Env = append(os.Environ(), "ATTN_CLI_CHILD=1")
	var stdout bytes.Buffer
	child.Stdout = &stdout
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	// Interrupt once a step has been logged (a fixed delay instead would
	// race the step on a loaded machine, and an interrupt before step 1
	// rightly saves step 0).
	deadline := time.Now().Add(60 * time.Second)
	for loggedSteps(dir) < 1 {
		if time.Now().After(deadline) {
			child.Process.Kill()
			t.Fatal("training logged no step within a minute")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := child.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := child.Wait(); err != nil {
		t.Fatalf("interrupted training exited with %v; output %q", err, stdout.String())
	}
	step := checkpointStep(dir)
	if step < 1 || !strings.Contains(stdout.String(), "interrupted at step") {
		t.Fatalf("after SIGINT: checkpoint at step %d, output %q", step, stdout.String())
	}
	if _, _, got, err := train.LoadModel(dir); err != nil || got != step {
		t.Fatalf("saved checkpoint does not load: %v (step %d, want %d)", err, got, step)
	}
}
