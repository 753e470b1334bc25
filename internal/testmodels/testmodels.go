// Package testmodels finds the real checkpoints and tokenizer files that
// some tests read. They live outside the repository (a user's clone does
// not have them), so every lookup skips the test when they are absent.
//
// The folders are $ATTN_MODELS and $ATTN_TOKENIZERS when set, else
// shared/models and shared/tokenizers beside the module's root folder.
package testmodels

import (
	"os"
	"path/filepath"
	"testing"
)

// Model returns the path of parts under the shared models folder, or skips
// tb when it is not there.
func Model(tb testing.TB, parts ...string) string {
	tb.Helper()
	return lookup(tb, "ATTN_MODELS", "models", parts)
}

// Tokenizer returns the path of parts under the shared tokenizers folder,
// or skips tb when it is not there.
func Tokenizer(tb testing.TB, parts ...string) string {
	tb.Helper()
	return lookup(tb, "ATTN_TOKENIZERS", "tokenizers", parts)
}

func lookup(tb testing.TB, env, sub string, parts []string) string {
	tb.Helper()
	root := os.Getenv(env)
	if root == "" {
		mod, err := moduleRoot()
		if err != nil {
			tb.Skipf("shared %s: %v; skipping", sub, err)
		}
		root = filepath.Join(filepath.Dir(mod), "shared", sub)
	}
	p := filepath.Join(append([]string{root}, parts...)...)
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("%s is not present (real files live outside the repository; set %s to their folder); skipping", p, env)
	}
	return p
}

// moduleRoot is the nearest folder upwards from the working directory (a
// test's package folder) that holds go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}
