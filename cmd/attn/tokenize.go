package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/attn-go/attn/tokenizer"
)

func newTokenizeCmd() *cobra.Command {
	var path, text, file, decode string
	var special, asJSON, skipSpecial bool
	var vocab int
	cmd := &cobra.Command{
		Use:   "tokenize --tokenizer PATH (--text T | --file F | --decode 1,2,3) [--special] [--json]",
		Short: "Print the token ids of a text, or the text of token ids",
		Long: `tokenize turns text into token ids with a tokenizer (a tokenizer.json,
vocab.json+merges.txt, vocab.txt, llama2.c tokenizer.bin, or a model folder
holding one), or ids back into text with --decode.

Output is a stable interface for scripts:
  - ids: one line of space-separated ids;
  - with --json: one JSON object {"ids": [...], "tokens": [...]}, tokens being
    the vocab strings of the ids (byte-level BPE shows "Ġ" for a space);
  - --decode: the decoded text exactly, with no newline added (with --json:
    {"text": "..."} on one line).

Special-token strings in the text (such as "<|im_start|>") are recognised,
as Hugging Face's tokenizers do. --special adds the special tokens the model
was trained with around the text (add_special_tokens=True: BOS, or [CLS] and
[SEP]); --skip-special leaves special tokens out when decoding.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if path == "" {
				return fmt.Errorf("--tokenizer is required")
			}
			n := 0
			for _, s := range []string{text, file, decode} {
				if s != "" {
					n++
				}
			}
			if n != 1 && !(n == 0 && cmd.Flags().Changed("text")) {
				return fmt.Errorf("give exactly one of --text, --file and --decode")
			}
			tok, err := tokenizer.Load(path, tokenizer.LoadOptions{VocabSize: vocab})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if decode != "" {
				return printDecoded(out, tok, decode, skipSpecial, asJSON)
			}
			if file != "" {
				var data []byte
				if file == "-" {
					data, err = io.ReadAll(cmd.InOrStdin())
				} else {
					data, err = os.ReadFile(file)
				}
				if err != nil {
					return fmt.Errorf("--file: %w", err)
				}
				text = string(data)
			}
			ids, err := encodeForCLI(tok, text, special)
			if err != nil {
				return err
			}
			return printIDs(out, tok, ids, asJSON)
		},
	}
	f := cmd.Flags()
	f.StringVar(&path, "tokenizer", "", "tokenizer file or model folder")
	f.StringVar(&text, "text", "", "text to encode")
	f.StringVar(&file, "file", "", "file whose whole content is encoded (- for standard input)")
	f.StringVar(&decode, "decode", "", "comma-separated ids to decode")
	f.BoolVar(&special, "special", false, "add the special tokens the model was trained with (BOS, [CLS]/[SEP])")
	f.BoolVar(&skipSpecial, "skip-special", false, "with --decode: leave special tokens out")
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	f.IntVar(&vocab, "vocab-size", 0, "vocab size of a llama2.c tokenizer.bin (the model's)")
	return cmd
}

// encodeForCLI encodes text the way the command documents: special-token
// strings recognised, and with special the tokenizer's own extras.
func encodeForCLI(tok tokenizer.Tokenizer, text string, special bool) ([]int, error) {
	se, ok := tok.(tokenizer.SpecialEncoder)
	if !ok {
		return tok.Encode(text)
	}
	opt := tokenizer.EncodeOptions{Special: true}
	if special {
		switch tok.(type) {
		case *tokenizer.Pipeline:
			opt.AddSpecialTokens = true
		case *tokenizer.WordPiece:
			opt.AddBOS, opt.AddEOS = true, true
		case *tokenizer.Llama2c:
			opt.AddBOS = true
		}
	}
	return se.EncodeWith(text, opt)
}

// tokenString is the vocab string of id, for the tokenizers that have one.
func tokenString(tok tokenizer.Tokenizer, id int) (string, error) {
	switch t := tok.(type) {
	case interface{ Token(int) (string, error) }:
		return t.Token(id)
	case *tokenizer.Llama2c:
		s, _, err := t.Token(id)
		return s, err
	}
	return "", fmt.Errorf("this tokenizer has no token strings")
}

func printIDs(w io.Writer, tok tokenizer.Tokenizer, ids []int, asJSON bool) error {
	if !asJSON {
		for i, id := range ids {
			if i > 0 {
				fmt.Fprint(w, " ")
			}
			fmt.Fprint(w, id)
		}
		_, err := fmt.Fprintln(w)
		return err
	}
	toks := make([]string, len(ids))
	for i, id := range ids {
		s, err := tokenString(tok, id)
		if err != nil {
			return err
		}
		toks[i] = s
	}
	return writeJSONLine(w, struct {
		IDs    []int    `json:"ids"`
		Tokens []string `json:"tokens"`
	}{append([]int{}, ids...), toks})
}

func printDecoded(w io.Writer, tok tokenizer.Tokenizer, list string, skipSpecial, asJSON bool) error {
	ids, err := parseIDs("decode", list)
	if err != nil {
		return err
	}
	var text string
	if p, ok := tok.(*tokenizer.Pipeline); ok {
		text, err = p.DecodeWith(ids, tokenizer.DecodeOptions{SkipSpecial: skipSpecial})
	} else if skipSpecial {
		return fmt.Errorf("--skip-special needs a tokenizer.json tokenizer")
	} else {
		text, err = tok.Decode(ids)
	}
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSONLine(w, struct {
			Text string `json:"text"`
		}{text})
	}
	_, err = io.WriteString(w, text)
	return err
}

// writeJSONLine writes v as one line of JSON, without HTML escaping so
// that "<s>" stays readable.
func writeJSONLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
