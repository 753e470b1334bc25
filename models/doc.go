// Package models runs real transformer checkpoints through attn's attention:
// GPT-2, BERT, Llama, Qwen2 and Mistral from Hugging Face folders, and
// llama2.c's legacy .bin checkpoints; plus KV-cache generation and sampling.
//
// # Loading
//
// Load (and Detect, Inspect) take a Hugging Face folder — config.json with
// model.safetensors, or shards listed by model.safetensors.index.json — or a
// llama2.c .bin file. F32 safetensors weights are memory-mapped; F16, BF16
// and F64 are converted to float32 once. The projection matrices are then
// packed once into the GEMM's micro-panels (kernel.PackB), whatever their
// stored layout (nn.Linear's [out, in], GPT-2's Conv1D [in, out]), with q, k
// and v side by side as one product; the mapped pages of the stored
// matrices are released (safetensors.File.Release), so the weights are
// resident once. Embeddings, norms and the head are used as stored. Loading
// is strict both ways, like PyTorch's
// load_state_dict(strict=True): a tensor the configuration implies must be
// present with that exact shape, and a tensor present must be used (GPT-2's
// attn.bias/attn.masked_bias buffers, which are causal masks, and stored
// rotary inv_freq buffers are recognised and skipped). Every error names the
// file and the tensor or field at fault; sizes are checked against the file
// before anything is allocated from them.
//
// LoadDecoder and LoadBert are Load for one kind of model, with an error
// naming what the checkpoint is otherwise. A folder written by attn train
// with --arch gpt loads as a Decoder too (FromGPT builds it from an nn.GPT:
// the same logits from the same weights, now with a KV cache and attention
// pictures). LoadTokenizer finds the tokenizer that belongs to a model
// (tokenizer.Load beside the checkpoint, or a trained task's symbols), and
// Decoder.EncodePrompt places the BOS token as the family's reference code
// does (DecoderConfig.BOSRule, set by each loader). To read training
// folders, models imports package train; train never imports models.
//
// # Architectures
//
// Decoder covers the decoder-only families, which differ only in fields of
// DecoderConfig: GPT-2 (LayerNorm, learned positions, tanh GELU, biases,
// tied head), Llama (RMSNorm, RoPE in Hugging Face's half-split layout,
// grouped-query attention, SwiGLU, untied head), Qwen2 (Llama with q/k/v
// biases), Mistral (Llama with a sliding window: query i sees keys
// i−W+1 … i) and llama2.c (Llama with RoPE in the interleaved layout).
// Grouped-query heads share K/V by index inside the attention kernel; K/V
// are never repeated. Bert is the BERT encoder (post-LN, token types, erf
// GELU, pooler); MeanPool gives sentence embeddings.
//
// Each architecture is checked against a PyTorch reference written from
// the published definitions (scripts/golden/gen_models.py): logits and
// hidden states within 1e-4 relative of float64, and no worse than twice
// PyTorch float32's own error. With ../shared/models present, stories260K
// generates llama2.c's greedy story byte for byte.
//
// # Generation
//
// A State holds one sequence's KV caches (one attention.KVCache per layer,
// grown by doubling up to the context). Forward appends tokens: the prompt
// in one pass, then one token per step, where the single-query attention
// splits the cached keys across cores and merges the parts by log-sum-exp.
// Generate adds sampling (greedy, temperature, top-k, top-p, repetition
// penalty, seeded), stop tokens, a length limit and a per-token callback
// for streaming.
//
// # Concurrency
//
// A loaded model is read-only: any number of goroutines may call Forward
// or Generate at once, each with its own State.
package models
