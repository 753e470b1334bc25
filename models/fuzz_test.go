package models

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLlama2cHeader feeds arbitrary bytes to the llama2.c header check. It
// must never panic, and whatever it accepts must be self-consistent: the
// file size equals the header's implied size, and the config validates.
func FuzzLlama2cHeader(f *testing.F) {
	hdr := func(v ...int32) []byte {
		var b bytes.Buffer
		binary.Write(&b, binary.LittleEndian, v)
		return b.Bytes()
	}
	f.Add(hdr(8, 16, 1, 2, 1, 5, 4), int64(28+4*656))
	f.Add(hdr(8, 16, 1, 2, 1, -5, 4), int64(100))
	f.Add(hdr(0x616b3432, 1), int64(256))
	f.Add([]byte{1, 2, 3}, int64(3))
	f.Fuzz(func(t *testing.T, head []byte, size int64) {
		lay, err := readLlama2cHeader(bytes.NewReader(head), "fuzz.bin", size)
		if err != nil {
			return
		}
		if want := llama2cHeader + 4*lay.total; size != want {
			t.Fatalf("accepted size %d, header implies %d", size, want)
		}
		if err := lay.cfg.Validate(); err != nil {
			t.Fatalf("accepted an invalid config: %v", err)
		}
		if !isLlama2c(head) {
			t.Fatalf("accepted a header Detect would not recognise: % x", head[:min(len(head), 28)])
		}
	})
}

// FuzzHFConfig feeds arbitrary config.json text to the decoder config
// mapping: never a panic, and an accepted config always validates (so no
// later allocation is sized by an unchecked field).
func FuzzHFConfig(f *testing.F) {
	for _, name := range []string{"gpt2", "llama", "qwen2", "mistral", "bert"} {
		b, err := os.ReadFile(filepath.Join(goldenDir, name, "config.json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"model_type":"llama","hidden_size":-8,"num_attention_heads":0}`))
	f.Add([]byte(`{"model_type":"gpt2","n_embd":1e300}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var hc hfConfig
		if json.Unmarshal(data, &hc) != nil {
			return
		}
		switch hc.ModelType {
		case "gpt2", "llama", "qwen2", "mistral":
			c, err := decoderConfig("config.json", &hc)
			if err == nil {
				if err := c.Validate(); err != nil {
					t.Fatalf("decoderConfig accepted an invalid config: %v", err)
				}
			}
		}
	})
}
