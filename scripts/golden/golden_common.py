"""Helpers shared by the golden-file generators (numpy and torch only)."""

import os

import numpy as np
import torch.nn.functional as Fn


def rel_l2(a, ref):
    """Relative L2 distance ||a - ref|| / ||ref|| in float64 (the plain
    distance when ref is zero)."""
    a = np.asarray(a, dtype=np.float64).ravel()
    ref = np.asarray(ref, dtype=np.float64).ravel()
    d = np.linalg.norm(a - ref)
    n = np.linalg.norm(ref)
    return d / n if n > 0 else d


def smoothed_ce(logits, labels, ls, ignore):
    """PyTorch's label-smoothed cross-entropy over the last dimension, mean
    over the labels that are not `ignore`."""
    V = logits.shape[-1]
    return Fn.cross_entropy(logits.reshape(-1, V), labels.reshape(-1), ignore_index=ignore,
                            label_smoothing=ls, reduction="mean")


def finish(out_dir, names, n_cases, total, max_total):
    """Warn about files in out_dir no case produced, print the total size
    and enforce the size limit."""
    stale = sorted(f for f in os.listdir(out_dir)
                   if f.endswith(".safetensors") and f[:-len(".safetensors")] not in names)
    if stale:
        print("WARNING: files not produced by this script:", ", ".join(stale))
    print(f"{n_cases} files, total {total} bytes ({total / 1e6:.2f} MB)")
    assert total <= max_total, total


def save_verified(path, tensors, meta, label):
    """Write tensors with st.save, then read the file back and require the
    same bytes, metadata, names, dtypes, shapes and values. Returns the
    file's size."""
    import st  # the generators put this folder on sys.path
    size = st.save(path, tensors, meta)
    with open(path, "rb") as f:
        raw = f.read()
    assert raw == st.serialize(tensors, meta), label
    rt, rmeta = st.load(path)
    assert rmeta == meta, label
    assert sorted(rt) == sorted(tensors), label
    for k, v in tensors.items():
        assert rt[k].dtype == v.dtype and rt[k].shape == v.shape, (label, k)
        assert rt[k].tobytes() == np.ascontiguousarray(v).tobytes(), (label, k)
    return size
