// Package train trains the models of package nn: optimizers (Adam and
// AdamW with the paper's β2 0.98 and ε 1e-9), learning-rate schedules (the
// paper's warm-up schedule and a cosine one), gradient clipping by global
// norm, seeded synthetic tasks (copy, reverse, sort, addition) with padded
// batches, checkpoints, and the training loop behind attn train.
//
// # Reproducibility
//
// Example i of a run comes from a generator seeded by (seed, i), and each
// step's dropout masks from (seed, step), so a run is a pure function of its
// settings: the same seed gives the same losses bit for bit, whatever the
// number of threads, and a run resumed from a checkpoint computes exactly
// the steps an uninterrupted one would have (docs/training.md).
//
// # Checkpoints
//
// A run keeps checkpoint.safetensors in its folder: every parameter under
// its PyTorch-style name, the Adam moments as optim.m.<name> and
// optim.v.<name>, and the run's settings and counters in the metadata. It is
// replaced atomically (temporary file, fsync, rename, directory fsync), so a
// crash at any moment leaves the previous checkpoint or the new one, whole.
// losses.tsv records every step's loss and is cut back to the checkpoint on
// resume. A checkpoint of another model, a missing one, a diverging loss
// and a failing write are errors that leave the last good checkpoint intact.
package train
