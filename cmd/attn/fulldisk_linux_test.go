//go:build linux

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attn-go/attn/train"
)

// A full disk while saving is a clear one-line error, and the previous
// checkpoint stays whole. The disk is a 120 KiB tmpfs, room for one
// checkpoint (about 80 KB) but not for the temporary copy the next atomic
// save writes beside it; mounting it needs root, so elsewhere the test
// skips.
func TestTrainFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=120k", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s)", err, strings.TrimSpace(string(out)))
	}
	defer exec.Command("umount", mnt).Run()
	dir := filepath.Join(mnt, "run")
	code, _, errOut := runCLI(t, "train", "--task", "copy", "--out", dir, "--steps", "5", "--batch", "8", "--d-model", "16",
		"--heads", "2", "--d-ff", "32", "--layers", "1", "--save-every", "1", "--eval-every", "1000", "--quiet")
	if code != 1 || !strings.Contains(errOut, "no space left on device") || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("exit %d, stderr %q; want exit 1 and one line about the full disk", code, errOut)
	}
	if _, _, step, err := train.LoadModel(dir); err != nil {
		t.Fatalf("the previous checkpoint does not load: %v", err)
	} else {
		t.Logf("kept the checkpoint of step %d; error: %s", step, strings.TrimSpace(errOut))
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") || strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left a temporary file %s", e.Name())
		}
	}
}

// A folder that turns read-only between runs: resuming fails at the first
// write with one line, and the checkpoint already there still loads. As
// with the full disk, the read-only folder is a tmpfs remounted read-only,
// which needs root.
func TestTrainReadOnlyFolder(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("remounting a tmpfs read-only needs root")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s)", err, strings.TrimSpace(string(out)))
	}
	defer exec.Command("umount", mnt).Run()
	dir := filepath.Join(mnt, "run")
	args := []string{"train", "--task", "copy", "--out", dir, "--steps", "4", "--batch", "8", "--d-model", "16",
		"--heads", "2", "--d-ff", "32", "--layers", "1", "--save-every", "1", "--eval-every", "1000", "--quiet"}
	if code, _, errOut := runCLI(t, args...); code != 0 {
		t.Fatalf("first run: exit %d: %s", code, errOut)
	}
	if out, err := exec.Command("mount", "-o", "remount,ro", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot remount read-only (%v: %s)", err, strings.TrimSpace(string(out)))
	}
	code, _, errOut := runCLI(t, append(args[:len(args)-1:len(args)-1], "--steps", "8", "--resume", "--quiet")...)
	if code != 1 || !strings.Contains(errOut, "read-only file system") || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("resume into a read-only folder: exit %d, stderr %q", code, errOut)
	}
	if _, _, step, err := train.LoadModel(dir); err != nil || step != 4 {
		t.Fatalf("the checkpoint of step 4 does not load: step %d, %v", step, err)
	}
}
