package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// LoadOptions carries what Load cannot learn from the files.
type LoadOptions struct {
	// VocabSize is the vocab size of a llama2.c tokenizer.bin (the model's
	// vocab_size). It is needed for, and only used for, that format.
	VocabSize int
	// Cased keeps case and accents for a BERT vocab.txt; see
	// WordPieceOptions. A tokenizer_config.json next to the vocab.txt with
	// "do_lower_case": false also selects it.
	Cased bool
}

// Load reads a tokenizer, telling the format from path, which may name the
// tokenizer itself or the model it belongs to:
//
//   - a directory (a model folder) with tokenizer.json, else with
//     vocab.json and merges.txt, else with vocab.txt, else with
//     tokenizer.bin or exactly one tok*.bin (llama2.c; needs opt.VocabSize);
//   - a model file inside such a folder (config.json, *.safetensors, the
//     shard index, or a llama2.c checkpoint: a .bin not named tok*.bin):
//     the tokenizer beside it, as for the folder;
//   - a file named *.json whose content is a JSON object: tokenizer.json
//     (vocab.json: a GPT-2 vocabulary with merges.txt beside it);
//   - a file named vocab.txt (or *.txt): a BERT vocab;
//   - any other file when opt.VocabSize > 0: a llama2.c tokenizer.bin.
func Load(path string, opt LoadOptions) (Tokenizer, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if fi.IsDir() {
		return loadDir(path, opt)
	}
	base := filepath.Base(path)
	switch {
	case isModelFile(base):
		t, err := loadDir(filepath.Dir(path), opt)
		if err != nil {
			return nil, fmt.Errorf("%w (looked beside the model %s)", err, path)
		}
		return t, nil
	case strings.HasSuffix(base, ".json"):
		if base == "vocab.json" {
			merges := filepath.Join(filepath.Dir(path), "merges.txt")
			return LoadGPT2(path, merges)
		}
		return LoadHF(path)
	case strings.HasSuffix(base, ".txt"):
		return loadVocabTxt(path, opt)
	case opt.VocabSize > 0:
		return loadBin(path, opt)
	}
	return nil, fmt.Errorf("tokenizer: %s: unknown tokenizer layout (a llama2.c tokenizer.bin needs LoadOptions.VocabSize)", path)
}

// isModelFile tells a model checkpoint's file name from a tokenizer's.
func isModelFile(base string) bool {
	return base == "config.json" || strings.HasSuffix(base, ".safetensors") || strings.HasSuffix(base, ".safetensors.index.json") ||
		(strings.HasSuffix(base, ".bin") && !strings.HasPrefix(base, "tok"))
}

// loadDir finds the tokenizer a model folder holds.
func loadDir(dir string, opt LoadOptions) (Tokenizer, error) {
	has := func(name string) bool {
		st, err := os.Stat(filepath.Join(dir, name))
		return err == nil && st.Mode().IsRegular()
	}
	switch {
	case has("tokenizer.json"):
		return LoadHF(filepath.Join(dir, "tokenizer.json"))
	case has("vocab.json") && has("merges.txt"):
		return LoadGPT2(filepath.Join(dir, "vocab.json"), filepath.Join(dir, "merges.txt"))
	case has("vocab.txt"):
		return loadVocabTxt(filepath.Join(dir, "vocab.txt"), opt)
	case has("tokenizer.bin"):
		return loadBin(filepath.Join(dir, "tokenizer.bin"), opt)
	}
	bins, _ := filepath.Glob(filepath.Join(dir, "tok*.bin"))
	switch len(bins) {
	case 1:
		return loadBin(bins[0], opt)
	case 0:
		return nil, fmt.Errorf("tokenizer: %s: no tokenizer.json, vocab.json+merges.txt, vocab.txt, tokenizer.bin or tok*.bin", dir)
	}
	return nil, fmt.Errorf("tokenizer: %s: several llama2.c tokenizers (%s); name one", dir, strings.Join(bins, ", "))
}

func loadBin(path string, opt LoadOptions) (Tokenizer, error) {
	if opt.VocabSize <= 0 {
		return nil, fmt.Errorf("tokenizer: %s: a llama2.c tokenizer.bin needs LoadOptions.VocabSize", path)
	}
	return LoadLlama2c(path, opt.VocabSize)
}

func loadVocabTxt(path string, opt LoadOptions) (Tokenizer, error) {
	cased := opt.Cased
	if cfg, err := os.ReadFile(filepath.Join(filepath.Dir(path), "tokenizer_config.json")); err == nil {
		var c struct {
			DoLowerCase *bool `json:"do_lower_case"`
		}
		if json.NewDecoder(bytes.NewReader(cfg)).Decode(&c) == nil && c.DoLowerCase != nil && !*c.DoLowerCase {
			cased = true
		}
	}
	return LoadWordPiece(path, WordPieceOptions{Cased: cased})
}
