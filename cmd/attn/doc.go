// Command attn is the command-line face of the attn library: a walk through
// multi-head attention (demo) and a door for PyTorch users to run their
// nn.MultiheadAttention cases through attn (mha).
//
// Run `attn --help` or `attn COMMAND --help` for the commands and flags.
package main
