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

// Load reads a tokenizer, telling the format from path:
//
//   - a directory with tokenizer.json, else with vocab.json and merges.txt,
//     else with vocab.txt, else with tokenizer.bin (needs opt.VocabSize);
//   - a file named *.json whose content is a JSON object: tokenizer.json;
//   - a file named vocab.txt (or *.txt): a BERT vocab;
//   - any other file when opt.VocabSize > 0: a llama2.c tokenizer.bin.
func Load(path string, opt LoadOptions) (Tokenizer, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if fi.IsDir() {
		has := func(name string) bool {
			st, err := os.Stat(filepath.Join(path, name))
			return err == nil && st.Mode().IsRegular()
		}
		switch {
		case has("tokenizer.json"):
			return LoadHF(filepath.Join(path, "tokenizer.json"))
		case has("vocab.json") && has("merges.txt"):
			return LoadGPT2(filepath.Join(path, "vocab.json"), filepath.Join(path, "merges.txt"))
		case has("vocab.txt"):
			return loadVocabTxt(filepath.Join(path, "vocab.txt"), opt)
		case has("tokenizer.bin"):
			return loadBin(filepath.Join(path, "tokenizer.bin"), opt)
		}
		return nil, fmt.Errorf("tokenizer: %s: directory holds no tokenizer.json, vocab.json+merges.txt, vocab.txt or tokenizer.bin", path)
	}
	base := filepath.Base(path)
	switch {
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
