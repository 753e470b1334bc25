package main

import (
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
