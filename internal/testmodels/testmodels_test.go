package testmodels

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLookup(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "m"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ATTN_MODELS", dir)
	if got := Model(t, "m"); got != filepath.Join(dir, "m") {
		t.Errorf("Model = %q, want %q", got, filepath.Join(dir, "m"))
	}
	skipped := true
	t.Run("absent", func(t *testing.T) {
		Model(t, "absent")
		skipped = false
	})
	if !skipped {
		t.Error("a missing model did not skip the test")
	}
	t.Setenv("ATTN_TOKENIZERS", dir)
	if got := Tokenizer(t, "m"); got != filepath.Join(dir, "m") {
		t.Errorf("Tokenizer = %q, want %q", got, filepath.Join(dir, "m"))
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Errorf("module root %s has no go.mod", root)
	}
}
