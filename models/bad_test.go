package models

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attn-go/attn/safetensors"
)

// copyCase copies a golden case folder into a temporary one a test may
// damage.
func copyCase(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join(goldenDir, name)
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func edit(t *testing.T, path string, f func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, f(b), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Every damaged checkpoint is an error that names the file and the
// problem; none panics.
func TestBadCheckpoints(t *testing.T) {
	cases := []struct {
		name    string
		setup   func(t *testing.T) string // returns the path to load
		wantSub []string                  // substrings of the error
	}{
		{"truncated safetensors", func(t *testing.T) string {
			d := copyCase(t, "gpt2")
			edit(t, filepath.Join(d, "model.safetensors"), func(b []byte) []byte { return b[:len(b)-100] })
			return d
		}, []string{"model.safetensors", "data"}},
		{"truncated llama2c", func(t *testing.T) string {
			d := copyCase(t, "llama2c")
			edit(t, filepath.Join(d, "model.bin"), func(b []byte) []byte { return b[:len(b)-4] })
			return filepath.Join(d, "model.bin")
		}, []string{"model.bin", "implies", "bytes"}},
		{"llama2c absurd header", func(t *testing.T) string {
			d := copyCase(t, "llama2c")
			edit(t, filepath.Join(d, "model.bin"), func(b []byte) []byte {
				binary.LittleEndian.PutUint32(b[0:], 1<<30) // dim
				return b
			})
			return filepath.Join(d, "model.bin")
		}, []string{"model.bin", "unknown checkpoint format"}},
		{"config disagrees with tensors", func(t *testing.T) string {
			d := copyCase(t, "llama")
			edit(t, filepath.Join(d, "config.json"), func(b []byte) []byte {
				return []byte(strings.Replace(string(b), `"intermediate_size": 64`, `"intermediate_size": 65`, 1))
			})
			return d
		}, []string{"model.safetensors", "mlp", "shape", "config implies"}},
		{"fewer layers than the file", func(t *testing.T) string {
			d := copyCase(t, "gpt2")
			edit(t, filepath.Join(d, "config.json"), func(b []byte) []byte {
				return []byte(strings.Replace(string(b), `"n_layer": 2`, `"n_layer": 1`, 1))
			})
			return d
		}, []string{"unexpected tensors", "transformer.h.1."}},
		{"unknown architecture", func(t *testing.T) string {
			d := copyCase(t, "llama")
			edit(t, filepath.Join(d, "config.json"), func(b []byte) []byte {
				return []byte(strings.Replace(string(b), `"model_type": "llama"`, `"model_type": "mamba"`, 1))
			})
			return d
		}, []string{"config.json", "unknown architecture", "mamba"}},
		{"invalid config JSON", func(t *testing.T) string {
			d := copyCase(t, "gpt2")
			edit(t, filepath.Join(d, "config.json"), func(b []byte) []byte { return b[:len(b)/2] })
			return d
		}, []string{"config.json", "invalid JSON"}},
		{"missing shard", func(t *testing.T) string {
			d := copyCase(t, "llama_sharded")
			os.Remove(filepath.Join(d, "model-00002-of-00002.safetensors"))
			return d
		}, []string{"model-00002-of-00002.safetensors"}},
		{"shard escapes the folder", func(t *testing.T) string {
			d := copyCase(t, "llama_sharded")
			edit(t, filepath.Join(d, "model.safetensors.index.json"), func(b []byte) []byte {
				return []byte(strings.Replace(string(b), `"model-00002-of-00002.safetensors"`, `"../x.safetensors"`, 1))
			})
			return d
		}, []string{"index.json", "same folder"}},
		{"unknown file", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "weights.gguf")
			os.WriteFile(p, []byte("GGUF\x03\x00\x00\x00 and more bytes than a header needs"), 0o644)
			return p
		}, []string{"weights.gguf", "GGUF"}},
		{"empty folder", func(t *testing.T) string { return t.TempDir() }, []string{"unknown model folder"}},
		{"missing path", func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope") }, []string{"nope"}},
		{"zero heads", func(t *testing.T) string {
			d := copyCase(t, "llama")
			edit(t, filepath.Join(d, "config.json"), func(b []byte) []byte {
				return []byte(strings.Replace(string(b), `"num_attention_heads": 4`, `"num_attention_heads": 0`, 1))
			})
			return d
		}, []string{"config.json", "heads"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := c.setup(t)
			m, err := Load(path)
			if err == nil {
				m.Close()
				t.Fatalf("Load(%s) succeeded", path)
			}
			for _, s := range c.wantSub {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if _, err := Inspect(path); err == nil && c.name != "config disagrees with tensors" && c.name != "fewer layers than the file" && c.name != "zero heads" && c.name != "unknown architecture" {
				t.Errorf("Inspect(%s) accepted a broken checkpoint", path)
			}
		})
	}
}

// NaN weights load (they are a valid file) but the logits they produce are
// an error, never silently returned.
func TestNaNWeightsAreAnErrorAtForward(t *testing.T) {
	d := copyCase(t, "gpt2")
	path := filepath.Join(d, "model.safetensors")
	f, err := safetensors.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var entries []safetensors.Entry
	for _, n := range f.Names() {
		b, info, _ := f.Bytes(n)
		b = append([]byte(nil), b...)
		if n == "transformer.h.0.mlp.c_fc.weight" {
			binary.LittleEndian.PutUint32(b[8:], math.Float32bits(float32(math.NaN())))
		}
		entries = append(entries, safetensors.Entry{Name: n, DType: info.DType, Shape: info.Shape, Data: b})
	}
	if err := safetensors.WriteFile(path, entries, nil); err != nil {
		t.Fatal(err)
	}
	m, err := Load(d)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	dec := m.(*Decoder)
	s, _ := dec.NewState(0)
	if _, err := dec.Forward(s, []int{1, 2, 3}, ForwardOptions{}); err == nil || !(strings.Contains(err.Error(), "not finite") || strings.Contains(err.Error(), "NaN")) {
		t.Errorf("Forward with NaN weights: %v, want a not-finite error", err)
	}
	if s.Len() != 0 {
		t.Errorf("a failed Forward left %d positions in the state", s.Len())
	}
}

func TestBadInputs(t *testing.T) {
	m, err := Load(filepath.Join(goldenDir, "gpt2"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	d := m.(*Decoder)
	s, _ := d.NewState(0)
	long := make([]int, d.Config.Context+1)
	for _, c := range []struct {
		name string
		ids  []int
		sub  string
	}{
		{"empty", nil, "no tokens"},
		{"negative id", []int{1, -1}, "outside the vocabulary"},
		{"id past vocab", []int{d.Config.Vocab}, "outside the vocabulary"},
		{"longer than context", long, "exceed the context"},
	} {
		if _, err := d.Forward(s, c.ids, ForwardOptions{}); err == nil || !strings.Contains(err.Error(), c.sub) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.sub)
		}
	}
	if _, _, err := d.Generate(s, long, GenerateOptions{MaxNew: 1}); err == nil || !strings.Contains(err.Error(), "does not fit") {
		t.Errorf("Generate with a prompt longer than the context: %v", err)
	}
	if _, err := d.NewState(d.Config.Context + 1); err == nil {
		t.Error("NewState accepted a length beyond the context")
	}
	for _, bad := range []Sampling{{Temperature: -1}, {Temperature: math.NaN()}, {TopK: -1}, {TopP: 1.5}, {RepetitionPenalty: math.Inf(1)}} {
		if _, _, err := d.Generate(s, []int{1}, GenerateOptions{MaxNew: 1, Sampling: bad}); err == nil {
			t.Errorf("Generate accepted sampling %+v", bad)
		}
	}
	// Generation stops at the context: prompt + new tokens never exceed it.
	s.Reset()
	out, _, err := d.Generate(s, []int{1, 2}, GenerateOptions{MaxNew: 1000, Stop: []int{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != d.Config.Context-1 {
		t.Errorf("generated %d tokens from a 2-token prompt with context %d, want %d", len(out), d.Config.Context, d.Config.Context-1)
	}
}
