package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/attn-go/attn/chat"
	"github.com/attn-go/attn/models"
	"github.com/attn-go/attn/safetensors"
	"github.com/attn-go/attn/tokenizer"
	"github.com/spf13/cobra"
)

func newInspectCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "inspect PATH",
		Short: "List a checkpoint's tensors, shapes, dtypes and config",
		Long: `inspect reads a checkpoint's structure without loading its weights.

PATH is a Hugging Face model folder (config.json with model.safetensors, or
shards listed by model.safetensors.index.json), a file inside one, or a
llama2.c .bin checkpoint. Headers, sizes and the shard index are checked;
a malformed file is an error naming the file and the problem.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			inv, err := models.Inspect(args[0])
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(inv)
			}
			fmt.Fprintf(w, "format: %s\npath:   %s\nconfig: %s\n", inv.Format, inv.Path, compactJSON(inv.Config))
			var params int64
			for _, t := range inv.Tensors {
				n := int64(1)
				for _, d := range t.Shape {
					n *= int64(d)
				}
				params += n
				fmt.Fprintf(w, "  %-60s %-5s %v  (%s)\n", t.Name, t.DType, t.Shape, t.File)
			}
			fmt.Fprintf(w, "%d tensors, %d values\n", len(inv.Tensors), params)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the inventory as JSON")
	return cmd
}

func compactJSON(raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// tokenizerFor is models.TokenizerFor with the flags that help when none
// is found.
func tokenizerFor(model, flag string, vocab int) (tokenizer.Tokenizer, error) {
	tok, err := models.TokenizerFor(model, flag, vocab)
	if err != nil && flag == "" {
		return nil, fmt.Errorf("%w; pass --tokenizer PATH or give token ids with --ids", err)
	}
	return tok, err
}

// parseIDs reads the comma-separated ids of the flag named flag.
func parseIDs(flag, s string) ([]int, error) {
	var ids []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("--%s: %q is not an integer", flag, f)
		}
		ids = append(ids, v)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("--%s: no token ids given", flag)
	}
	return ids, nil
}

type genFlags struct {
	model, tok, prompt, ids string
	chat                    bool
	system                  string
	n                       int
	temperature, topP, rep  float64
	topK                    int
	seed                    int64
}

func newGenerateCmd() *cobra.Command {
	var f genFlags
	cmd := &cobra.Command{
		Use:   "generate --model PATH --prompt TEXT [-n N] [--temperature T] [--top-k K] [--top-p P] [--seed S]",
		Short: "Generate text from a checkpoint, streaming tokens as they come",
		Long: `generate runs a decoder-only checkpoint (GPT-2, Llama, Qwen2, Mistral,
llama2.c) with a KV cache and prints the text as it is produced; a line on
stderr then reports tokens/s for the prompt and for generation.

--temperature 0 is greedy decoding (argmax, lowest id on ties): with
llama2.c's stories260K it prints exactly what llama2.c's run prints with
-t 0. Otherwise the logits go through the repetition penalty, temperature,
top-k and top-p (in that order) and a seeded draw. The prompt starts with
BOS for llama2.c and Llama-family models, as their reference code does.
Generation stops at the model's end token(s) or after -n new tokens.

--chat makes --prompt the user's message of a conversation (after --system,
if given) and turns it into the model's input with the chat template of the
checkpoint's tokenizer_config.json, exactly as transformers'
apply_chat_template(messages, add_generation_prompt=True) writes it; the
template's end-of-turn token also stops generation.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGenerate(cmd, f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.model, "model", "", "checkpoint: Hugging Face folder or llama2.c .bin (required)")
	fs.StringVar(&f.tok, "tokenizer", "", "tokenizer file or folder (default: found beside the model)")
	fs.StringVar(&f.prompt, "prompt", "", "prompt text (may be empty)")
	fs.StringVar(&f.ids, "ids", "", "prompt as comma-separated token ids instead of text; output is ids too")
	fs.BoolVar(&f.chat, "chat", false, "treat --prompt as a user message and apply the model's chat template")
	fs.StringVar(&f.system, "system", "", "with --chat: a system message before the user's")
	fs.IntVarP(&f.n, "n", "n", 256, "maximum number of new tokens")
	fs.Float64Var(&f.temperature, "temperature", 1, "sampling temperature; 0 = greedy")
	fs.IntVar(&f.topK, "top-k", 0, "keep only the K most likely tokens (0 = all)")
	fs.Float64Var(&f.topP, "top-p", 0.9, "nucleus sampling: keep the most likely tokens up to this probability (1 = all)")
	fs.Float64Var(&f.rep, "repetition-penalty", 1, "divide positive logits of tokens already seen by this (1 = off)")
	fs.Int64Var(&f.seed, "seed", -1, "random seed (-1: from the clock; the seed used is reported)")
	_ = cmd.MarkFlagRequired("model")
	return cmd
}

func runGenerate(cmd *cobra.Command, f genFlags) error {
	if f.n < 0 {
		return fmt.Errorf("-n %d: want >= 0", f.n)
	}
	if f.ids != "" && cmd.Flags().Changed("prompt") {
		return fmt.Errorf("give --prompt or --ids, not both")
	}
	seed := uint64(f.seed)
	if f.seed < 0 {
		seed = uint64(time.Now().UnixNano())
	}
	sampling := models.Sampling{Temperature: f.temperature, TopK: f.topK, TopP: f.topP, RepetitionPenalty: f.rep, Seed: seed}
	if err := sampling.Validate(); err != nil {
		return err
	}
	m, err := models.LoadDecoder(f.model)
	if err != nil {
		return err
	}
	defer m.Close()
	out := cmd.OutOrStdout()
	if f.system != "" && !f.chat {
		return fmt.Errorf("--system needs --chat")
	}
	if f.chat && f.ids != "" {
		return fmt.Errorf("give --chat with --prompt, not --ids")
	}
	var ids, stops []int
	var emit func(id int) error
	var flush func() string
	if f.ids != "" {
		if ids, err = parseIDs("ids", f.ids); err != nil {
			return err
		}
		sep := ""
		emit = func(id int) error { _, err := fmt.Fprintf(out, "%s%d", sep, id); sep = ","; return err }
		flush = func() string { return "" }
	} else {
		tok, err := tokenizerFor(f.model, f.tok, m.Config.Vocab)
		if err != nil {
			return err
		}
		if f.chat {
			var extra []int
			if ids, extra, err = chatPrompt(f, tok); err != nil {
				return err
			}
			stops = append(m.StopTokens(), extra...)
		} else if ids, err = m.EncodePrompt(tok, f.prompt); err != nil {
			return err
		}
		if f.prompt != "" && !f.chat {
			if _, err := fmt.Fprint(out, f.prompt); err != nil {
				return err
			}
		}
		stream := tokenizer.NewStream(tok)
		stream.SetPrev(ids[len(ids)-1])
		emit = func(id int) error {
			if id >= tok.VocabSize() {
				return nil // a padded vocabulary slot: nothing to print
			}
			s, err := stream.Next(id)
			if err != nil {
				return err
			}
			_, err = io.WriteString(out, s)
			return err
		}
		flush = stream.Flush
	}
	if len(ids) > m.Config.Context {
		return fmt.Errorf("the prompt is %d tokens, longer than the model's context of %d", len(ids), m.Config.Context)
	}
	s, err := m.NewState(0)
	if err != nil {
		return err
	}
	_, st, err := m.Generate(s, ids, models.GenerateOptions{MaxNew: f.n, Stop: stops, Sampling: sampling, OnToken: emit})
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(out, flush()); err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "prompt: %d tokens, %.1f tokens/s; generated: %d tokens, %.1f tokens/s; seed %d\n",
		st.PromptTokens, st.PromptRate(), st.NewTokens, st.GenRate(), seed)
	return nil
}

func newRunCmd() *cobra.Command {
	var model, tok, prompt, ids, logits string
	var hidden bool
	cmd := &cobra.Command{
		Use:   "run --model PATH (--prompt TEXT | --ids 1,2,3) --logits OUT.safetensors [--hidden]",
		Short: "Run a checkpoint once and save the logits of every position",
		Long: `run feeds the tokens through a decoder-only checkpoint in one pass and writes
a safetensors file with input_ids [T] (I64), logits [T,V] and, with --hidden,
hidden_states [L+1,T,D] (Hugging Face's output_hidden_states order: the
embeddings, then each layer, the last after the final norm). The file is
written atomically.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (prompt == "") == (ids == "") {
				return fmt.Errorf("give exactly one of --prompt and --ids")
			}
			if logits == "" {
				return fmt.Errorf("--logits OUT.safetensors is required")
			}
			if abs, _ := filepath.Abs(logits); abs != "" {
				if mabs, _ := filepath.Abs(model); mabs == abs {
					return fmt.Errorf("--logits %s would overwrite the model", logits)
				}
			}
			m, err := models.LoadDecoder(model)
			if err != nil {
				return err
			}
			defer m.Close()
			var toks []int
			if ids != "" {
				if toks, err = parseIDs("ids", ids); err != nil {
					return err
				}
			} else {
				t, err := tokenizerFor(model, tok, m.Config.Vocab)
				if err != nil {
					return err
				}
				if toks, err = m.EncodePrompt(t, prompt); err != nil {
					return err
				}
			}
			if len(toks) > m.Config.Context {
				return fmt.Errorf("the input is %d tokens, longer than the model's context of %d", len(toks), m.Config.Context)
			}
			s, err := m.NewState(0)
			if err != nil {
				return err
			}
			out, err := m.Forward(s, toks, models.ForwardOptions{AllLogits: true, HiddenStates: hidden})
			if err != nil {
				return err
			}
			in64 := make([]int64, len(toks))
			for i, v := range toks {
				in64[i] = int64(v)
			}
			entries := []safetensors.Entry{
				safetensors.Int64Entry("input_ids", []int{len(toks)}, in64),
				safetensors.TensorEntry("logits", out.Logits),
			}
			if out.HiddenStates != nil {
				entries = append(entries, safetensors.TensorEntry("hidden_states", out.HiddenStates))
			}
			if err := safetensors.WriteFile(logits, entries, map[string]string{"model": model, "arch": string(m.Arch())}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: logits %v for %d tokens\n", logits, out.Logits.Shape(), len(toks))
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&model, "model", "", "checkpoint: Hugging Face folder or llama2.c .bin (required)")
	fs.StringVar(&tok, "tokenizer", "", "tokenizer file or folder (default: found beside the model)")
	fs.StringVar(&prompt, "prompt", "", "input text")
	fs.StringVar(&ids, "ids", "", "input as comma-separated token ids")
	fs.StringVar(&logits, "logits", "", "output safetensors file (required)")
	fs.BoolVar(&hidden, "hidden", false, "also write hidden_states [L+1,T,D]")
	_ = cmd.MarkFlagRequired("model")
	return cmd
}

func newEmbedCmd() *cobra.Command {
	var model, tok, pooling string
	var texts []string
	var normalize bool
	cmd := &cobra.Command{
		Use:   "embed --model BERT-DIR --text TEXT [--text TEXT ...]",
		Short: "Print sentence embeddings from a BERT checkpoint",
		Long: `embed encodes each --text with the model's WordPiece tokenizer ([CLS] text
[SEP]), runs the BERT encoder on the batch (padding masked out) and prints
one JSON array per text: the mean of the last hidden states over the real
tokens (sentence-transformers' mean pooling), or with --pooling cls the
pooler output. --normalize scales each vector to unit length.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(texts) == 0 {
				return fmt.Errorf("give at least one --text")
			}
			pool, err := models.ParsePooling(pooling)
			if err != nil {
				return fmt.Errorf("--pooling: %w", err)
			}
			bert, err := models.LoadBert(model)
			if err != nil {
				return err
			}
			defer bert.Close()
			t, err := tokenizerFor(model, tok, bert.Config.Vocab)
			if err != nil {
				return err
			}
			emb, err := bert.Embed(t, texts, models.EmbedOptions{Pooling: pool, Normalize: normalize})
			if err != nil {
				return err
			}
			D := emb.Dim(1)
			for b := range len(texts) {
				line, _ := json.Marshal(emb.Data()[b*D : (b+1)*D])
				fmt.Fprintln(cmd.OutOrStdout(), string(line))
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&model, "model", "", "BERT Hugging Face folder (required)")
	fs.StringVar(&tok, "tokenizer", "", "tokenizer (default: vocab.txt or tokenizer.json in the model folder)")
	fs.StringArrayVar(&texts, "text", nil, "text to embed (repeat for a batch)")
	fs.StringVar(&pooling, "pooling", "mean", "mean (over real tokens) or cls (pooler output)")
	fs.BoolVar(&normalize, "normalize", false, "scale each embedding to unit L2 norm")
	_ = cmd.MarkFlagRequired("model")
	return cmd
}

// chatPrompt renders the conversation of --system and --prompt with the
// chat template found beside the tokenizer (or the model) and encodes it
// as apply_chat_template(..., tokenize=True) does: special-token strings
// recognised, nothing added (the template writes BOS itself). It also
// returns the template's end-of-turn token, when the vocab has it.
func chatPrompt(f genFlags, tok tokenizer.Tokenizer) (ids, stops []int, err error) {
	where := f.model
	if f.tok != "" {
		where = f.tok
	}
	if st, err := os.Stat(where); err == nil && !st.IsDir() {
		where = filepath.Dir(where)
	}
	tmpl, err := chat.Load(where)
	if err != nil {
		return nil, nil, err
	}
	var msgs []chat.Message
	if f.system != "" {
		msgs = append(msgs, chat.Message{Role: "system", Content: f.system})
	}
	msgs = append(msgs, chat.Message{Role: "user", Content: f.prompt})
	prompt, err := tmpl.Render(msgs, chat.Options{AddGenerationPrompt: true})
	if err != nil {
		return nil, nil, err
	}
	se, ok := tok.(tokenizer.SpecialEncoder)
	if !ok {
		return nil, nil, fmt.Errorf("--chat needs a tokenizer that recognises special tokens")
	}
	if ids, err = se.EncodeWith(prompt, tokenizer.EncodeOptions{Special: true}); err != nil {
		return nil, nil, err
	}
	if len(ids) == 0 {
		return nil, nil, fmt.Errorf("the chat template rendered an empty prompt")
	}
	if p, ok := tok.(interface{ ID(string) int }); ok && tmpl.EOS() != "" {
		if id := p.ID(tmpl.EOS()); id >= 0 {
			stops = append(stops, id)
		}
	}
	return ids, stops, nil
}
