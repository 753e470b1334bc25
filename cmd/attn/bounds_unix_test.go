//go:build unix

package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// Files of about 1 KiB that claim terabytes must be refused before
// anything is allocated from the claim: each is run through the CLI in a
// child process, which must exit 1 with one line naming the file, and
// whose peak RSS must stay far below the claim: within 32 MiB of the same
// binary printing its help (the baseline is a few MiB, more under -race).
func TestHugeClaimsStaySmall(t *testing.T) {
	dir := t.TempDir()
	pad := func(b []byte) []byte {
		for len(b) < 1024 {
			b = append(b, ' ')
		}
		return b
	}
	// safetensors: one F32 tensor of 2^38 elements (1 TiB).
	hdr, _ := json.Marshal(map[string]any{"w": map[string]any{"dtype": "F32", "shape": []int{1 << 38}, "data_offsets": []int64{0, 1 << 40}}})
	hdr = pad(hdr)
	st := binary.LittleEndian.AppendUint64(nil, uint64(len(hdr)))
	st = append(st, hdr...)
	stDir := filepath.Join(dir, "st")
	os.Mkdir(stDir, 0o755)
	os.WriteFile(filepath.Join(stDir, "model.safetensors"), st, 0o644)
	os.WriteFile(filepath.Join(stDir, "config.json"), []byte(`{"model_type":"llama","hidden_size":16,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":32,"max_position_embeddings":16,"vocab_size":10}`), 0o644)

	// safetensors: 4 GiB claimed (within the element bound) in 1 KiB.
	hdr4, _ := json.Marshal(map[string]any{"w": map[string]any{"dtype": "F32", "shape": []int{1 << 30}, "data_offsets": []int64{0, 1 << 32}}})
	hdr4 = pad(hdr4)
	st4 := append(binary.LittleEndian.AppendUint64(nil, uint64(len(hdr4))), hdr4...)
	st4Dir := filepath.Join(dir, "st4")
	os.Mkdir(st4Dir, 0o755)
	os.WriteFile(filepath.Join(st4Dir, "model.safetensors"), st4, 0o644)
	cfg, _ := os.ReadFile(filepath.Join(stDir, "config.json"))
	os.WriteFile(filepath.Join(st4Dir, "config.json"), cfg, 0o644)

	// llama2.c: dim 2^24, 2^24 layers... a header whose weights would be
	// petabytes, in a 1 KiB file.
	var l2 bytes.Buffer
	binary.Write(&l2, binary.LittleEndian, []int32{1 << 24, 1 << 24, 1 << 10, 1 << 10, 1 << 10, 1 << 20, 1 << 20})
	l2c := filepath.Join(dir, "huge.bin")
	os.WriteFile(l2c, pad(l2.Bytes()), 0o644)

	// llama2.c tokenizer: a piece claiming 2^31-1 bytes.
	var tk bytes.Buffer
	binary.Write(&tk, binary.LittleEndian, []int32{7})
	binary.Write(&tk, binary.LittleEndian, float32(0))
	binary.Write(&tk, binary.LittleEndian, int32(1<<31-1))
	tok := filepath.Join(dir, "tok.bin")
	os.WriteFile(tok, pad(tk.Bytes()), 0o644)

	childRSS := func(args ...string) (int64, string, error) {
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = append(os.Environ(), "ATTN_CLI_CHILD=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var rss int64 = -1
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = int64(ru.Maxrss) * 1024
			if runtime.GOOS == "darwin" {
				rss = int64(ru.Maxrss)
			}
		}
		return rss, stderr.String(), err
	}
	base, _, err := childRSS("--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		name string
	}{
		{[]string{"inspect", stDir}, "model.safetensors"},
		{[]string{"generate", "--model", stDir, "--ids", "1"}, "model.safetensors"},
		{[]string{"inspect", st4Dir}, "model.safetensors"},
		{[]string{"inspect", l2c}, "huge.bin"},
		{[]string{"generate", "--model", "../../testdata/golden/models/llama2c_tied/model.bin", "--tokenizer", tok, "--prompt", "hi"}, "tok.bin"},
	} {
		rss, msg, err := childRSS(c.args...)
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 1 {
			t.Errorf("%v: %v, want exit 1", c.args, err)
			continue
		}
		if !strings.Contains(msg, c.name) || strings.Count(msg, "\n") != 1 {
			t.Errorf("%v: stderr %q, want one line naming %s", c.args, msg, c.name)
		}
		t.Logf("%v: %s", c.args[0], strings.TrimSpace(msg))
		if rss > base+32<<20 {
			t.Errorf("%v: peak RSS %d MiB for a 1 KiB file (help alone: %d MiB)", c.args, rss>>20, base>>20)
		}
	}
}
