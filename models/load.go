package models

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Model is a loaded checkpoint: a *Decoder (GPT-2, Llama, Qwen2, Mistral,
// llama2.c, a trained GPT) or a *Bert.
type Model interface {
	// Arch names the architecture.
	Arch() Arch
	// Close releases the files the model maps.
	Close() error
}

// Arch returns the architecture name.
func (m *Decoder) Arch() Arch { return m.Config.Arch }

// Format is a checkpoint layout Load recognises.
type Format string

const (
	// HuggingFace is a folder with config.json and model.safetensors (or
	// sharded model-*.safetensors with model.safetensors.index.json).
	HuggingFace Format = "huggingface"
	// Llama2c is a legacy llama2.c .bin checkpoint.
	Llama2c Format = "llama2c"
)

// Detect tells which format path holds. path may be a Hugging Face folder,
// its config.json or a .safetensors file inside it, a llama2.c .bin file
// (or a folder holding exactly one), or a folder written by attn train. It returns the path Load should open
// (the folder, or the .bin file).
func Detect(path string) (Format, string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", "", fmt.Errorf("models: %w", err)
	}
	if st.IsDir() {
		if _, err := os.Stat(filepath.Join(path, "config.json")); err == nil {
			return HuggingFace, path, nil
		}
		if isTrained(path) {
			return Trained, path, nil
		}
		bins, _ := filepath.Glob(filepath.Join(path, "*.bin"))
		var found []string
		for _, b := range bins {
			if f, _, err := Detect(b); err == nil && f == Llama2c {
				found = append(found, b)
			}
		}
		switch len(found) {
		case 1:
			return Llama2c, found[0], nil
		case 0:
			return "", "", fmt.Errorf("models: %s: unknown model folder: no config.json (Hugging Face) and no llama2.c .bin checkpoint", path)
		default:
			return "", "", fmt.Errorf("models: %s: several llama2.c checkpoints (%s); name one", path, strings.Join(found, ", "))
		}
	}
	if !st.Mode().IsRegular() {
		return "", "", fmt.Errorf("models: %s: not a regular file or folder", path)
	}
	if filepath.Base(path) == "config.json" || strings.HasSuffix(path, ".safetensors") || strings.HasSuffix(path, ".safetensors.index.json") {
		dir := filepath.Dir(path)
		if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
			return "", "", fmt.Errorf("models: %s: a Hugging Face checkpoint needs config.json beside it in %s", path, dir)
		}
		return HuggingFace, dir, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", "", fmt.Errorf("models: %w", err)
	}
	defer f.Close()
	head := make([]byte, 64)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	if isLlama2c(head) {
		return Llama2c, path, nil
	}
	if len(head) >= 9 && binary.LittleEndian.Uint64(head) < 1<<27 && head[8] == '{' {
		return "", "", fmt.Errorf("models: %s: a safetensors file needs its config.json beside it (Hugging Face folder layout)", path)
	}
	if bytes.HasPrefix(head, []byte("PK\x03\x04")) {
		return "", "", fmt.Errorf("models: %s: a PyTorch zip/pickle checkpoint; it is not read (pickle can run code): convert it to safetensors", path)
	}
	if bytes.HasPrefix(head, []byte("GGUF")) {
		return "", "", fmt.Errorf("models: %s: GGUF files are not supported (use safetensors or a llama2.c checkpoint)", path)
	}
	return "", "", fmt.Errorf("models: %s: unknown checkpoint format (want a Hugging Face folder with config.json and safetensors, or a llama2.c .bin)", path)
}

// Load opens the checkpoint at path (see Detect). F32 safetensors weights
// are memory-mapped and used in place; F16, BF16 and F64 are converted to
// float32 once. Every tensor the architecture needs must be present with
// the shape the config implies, and every tensor present must be used:
// otherwise Load returns an error naming the file and the tensor.
func Load(path string) (Model, error) {
	format, p, err := Detect(path)
	if err != nil {
		return nil, err
	}
	switch format {
	case Llama2c:
		return loadLlama2c(p)
	case Trained:
		return loadTrained(p)
	}
	return loadHF(p)
}

// LoadDecoder is Load for a decoder-only model (GPT-2, Llama, Qwen2,
// Mistral, llama2.c, or a GPT trained by attn train); any other checkpoint
// is an error that names what it is.
func LoadDecoder(path string) (*Decoder, error) {
	return loadAs[*Decoder](path, "a decoder-only text generator")
}

// LoadBert is Load for a BERT encoder.
func LoadBert(path string) (*Bert, error) {
	return loadAs[*Bert](path, "a BERT encoder")
}

func loadAs[T Model](path, what string) (T, error) {
	var zero T
	m, err := Load(path)
	if err != nil {
		return zero, err
	}
	t, ok := m.(T)
	if !ok {
		kind := "decoder"
		if _, enc := m.(*Bert); enc {
			kind = "encoder"
		}
		arch := m.Arch()
		_ = m.Close()
		return zero, fmt.Errorf("models: %s is a %s %s, not %s", path, arch, kind, what)
	}
	return t, nil
}
