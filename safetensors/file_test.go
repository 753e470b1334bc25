package safetensors

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// dirEntries lists the names in dir, to spot leftover temporary files.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

func TestWriteFileAndReadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	entries := []Entry{Float32Entry("w", []int{2, 2}, []float32{1, 2, 3, 4})}
	meta := map[string]string{"format": "pt"}
	if err := WriteFile(path, entries, meta); err != nil {
		t.Fatal(err)
	}
	f, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v, shape, err := f.Float32s("w")
	if err != nil || !slices.Equal(v, []float32{1, 2, 3, 4}) || !slices.Equal(shape, []int{2, 2}) {
		t.Errorf("read back %v %v %v", v, shape, err)
	}
	if f.Metadata()["format"] != "pt" {
		t.Errorf("metadata = %v", f.Metadata())
	}
	// The file holds exactly what Write produces.
	var buf bytes.Buffer
	if err := Write(&buf, entries, meta); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, buf.Bytes()) {
		t.Error("WriteFile and Write produce different bytes")
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
		t.Errorf("new file mode = %v, want 0644", st.Mode().Perm())
	}
	if names := dirEntries(t, dir); !slices.Equal(names, []string{"model.safetensors"}) {
		t.Errorf("directory holds %q, want only the file", names)
	}

	// Overwriting replaces the content and keeps the permission bits.
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []Entry{Int64Entry("n", []int{1}, []int64{7})}, nil); err != nil {
		t.Fatal(err)
	}
	f, err = ReadFile(path)
	if err != nil || !f.Has("n") || f.Has("w") {
		t.Fatalf("after overwrite: %v %v", f.Names(), err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("overwritten file mode = %v, want 0600 kept", st.Mode().Perm())
	}
}

func TestWriteFileFailuresLeaveOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	good := []Entry{Float32Entry("w", []int{1}, []float32{1})}
	if err := WriteFile(path, good, nil); err != nil {
		t.Fatal(err)
	}
	orig, _ := os.ReadFile(path)

	// A validation failure: nothing is created.
	err := WriteFile(path, []Entry{Float32Entry("bad", []int{3}, []float32{1})}, nil)
	if err == nil || !strings.Contains(err.Error(), `"bad"`) {
		t.Errorf("invalid entries: err = %v", err)
	}

	// A failure after the temporary file is fully written, just before the
	// rename (standing in for a full disk or a crash).
	testHookBeforeRename = func(tmp string) error {
		if _, err := os.Stat(tmp); err != nil {
			t.Errorf("temporary file missing before rename: %v", err)
		}
		if filepath.Dir(tmp) != dir {
			t.Errorf("temporary file %s not in the target directory", tmp)
		}
		return errors.New("injected failure")
	}
	err = WriteFile(path, []Entry{Float32Entry("other", []int{1000}, make([]float32, 1000))}, nil)
	testHookBeforeRename = nil
	if err == nil || !strings.Contains(err.Error(), "injected failure") || !strings.Contains(err.Error(), path) {
		t.Errorf("injected failure: err = %v", err)
	}

	// Renaming onto a directory fails.
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(sub, good, nil); err == nil {
		t.Error("WriteFile over a directory succeeded")
	}
	os.Remove(sub)

	if got, _ := os.ReadFile(path); !bytes.Equal(got, orig) {
		t.Error("a failed WriteFile changed the existing file")
	}
	if names := dirEntries(t, dir); !slices.Equal(names, []string{"model.safetensors"}) {
		t.Errorf("directory holds %q after failures, want only the original file", names)
	}
}

func TestWriteFileBadDirectory(t *testing.T) {
	dir := t.TempDir()
	good := []Entry{Float32Entry("w", []int{1}, []float32{1})}

	missing := filepath.Join(dir, "no", "such", "dir", "m.safetensors")
	if err := WriteFile(missing, good, nil); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("non-existent directory: err = %v", err)
	}
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(filepath.Join(notDir, "m.safetensors"), good, nil); err == nil {
		t.Error("a regular file as directory: WriteFile succeeded")
	}

	ro := filepath.Join(dir, "ro")
	if err := os.Mkdir(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(ro, 0o755)
	// Root (and some sandboxes) may write into a read-only directory anyway.
	if probe, err := os.CreateTemp(ro, "probe"); err == nil {
		probe.Close()
		os.Remove(probe.Name())
		t.Log("read-only directory is writable here (running as root?); skipping that case")
	} else {
		if err := WriteFile(filepath.Join(ro, "m.safetensors"), good, nil); err == nil {
			t.Error("read-only directory: WriteFile succeeded")
		}
		if names := dirEntries(t, ro); len(names) != 0 {
			t.Errorf("read-only directory holds %q", names)
		}
	}
	if names := dirEntries(t, dir); !slices.Equal(names, []string{"file", "ro"}) {
		t.Errorf("directory holds %q, want no temporary files", names)
	}
}

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.safetensors")
	if _, err := ReadFile(missing); err == nil || !strings.Contains(err.Error(), missing) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
	if _, err := ReadFile(dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("directory: err = %v", err)
	}
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte{1, 2}, 0o644)
	if _, err := ReadFile(short); err == nil || !strings.Contains(err.Error(), short) || !strings.Contains(err.Error(), "shorter") {
		t.Errorf("short file: err = %v", err)
	}
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, raw(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}}`, make([]byte, 8)...), 0o644)
	_, err := ReadFile(bad)
	if err == nil || !strings.HasPrefix(err.Error(), "safetensors: "+bad+`: tensor "a"`) || strings.Count(err.Error(), "safetensors: ") != 1 {
		t.Errorf("bad file: err = %v", err)
	}
}
