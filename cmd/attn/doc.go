// Command attn is the command-line face of the attn library. Every command
// prints its flags with --help; errors name the flag or file at fault and
// exit with status 1.
//
// Learning what attention does:
//
//	attn demo       train a Transformer to reverse sequences, then show where it looks
//	attn explain    walk the six steps of multi-head self-attention on a sentence
//	attn mha        run a PyTorch nn.MultiheadAttention case saved as safetensors
//
// Training on the synthetic tasks (copy, reverse, sort, add):
//
//	attn train      train an encoder-decoder, decoder-only (--arch gpt) or encoder-only model
//	attn eval       score a trained checkpoint on held-out examples
//	attn predict    run a trained checkpoint on one input
//
// Running checkpoints (Hugging Face folders, llama2.c .bin files, and
// folders written by attn train --arch gpt):
//
//	attn generate   generate text, streaming tokens as they come
//	attn run        run once and save the logits (and hidden states) of every position
//	attn embed      print sentence embeddings from a BERT checkpoint
//	attn tokenize   print the token ids of a text (or the text of ids)
//	attn inspect    list a checkpoint's tensors, shapes, dtypes and config
//	attn viz        draw the attention: heatmaps (PNG/SVG) or an interactive HTML page
//
// Measuring (results as JSON; BENCHMARKS.md has the commands of every row):
//
//	attn bench gemm        kernel.Gemm on one shape
//	attn bench attention   attention.ScaledDotProduct, forward or forward+backward
//	attn bench mha         MultiHeadAttention.Forward
//	attn bench decode      a decoder's prompt pass and one-token decode step
//	attn bench encode      a BERT encoder's forward pass
//	attn bench train       one training step
//	attn bench bandwidth   sustained DRAM read bandwidth
//	attn bench peak        the FMA peak of this machine
//	attn bench plot        time and memory against sequence length, attn next to PyTorch
//	attn bench tokenize    a tokenizer's encode throughput (MB/s) on a text file
//
// The command holds flags, wiring and printing only; what it runs is in the
// library's packages.
package main
