"""Minimal safetensors writer and reader (numpy only, no `safetensors` package).

Layout written by `save`:
  * 8-byte little-endian u64 N,
  * N bytes of UTF-8 JSON header, right-padded with spaces so that 8+N is a
    multiple of 8,
  * the data section: every tensor little-endian and C-contiguous, laid out
    back to back (no gaps) in sorted-name order.

The header maps each tensor name to {"dtype", "shape", "data_offsets"}
(offsets relative to the start of the data section) and, optionally,
"__metadata__" to a {str: str} object.  The output is a pure function of the
arguments (keys sorted, compact JSON), so writing the same tensors twice gives
byte-identical files.
"""

import json
import struct

import numpy as np

# safetensors dtype name -> little-endian numpy dtype
_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}


def _st_dtype(arr):
    for name, dt in _DTYPES.items():
        if arr.dtype.kind == dt.kind and arr.dtype.itemsize == dt.itemsize:
            return name
    raise TypeError(f"unsupported dtype {arr.dtype}")


def serialize(tensors, metadata=None):
    """Return the bytes of a safetensors file holding `tensors` (name -> ndarray)."""
    if metadata is not None:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError(f"metadata must be str -> str, got {k!r}: {v!r}")
    header = {}
    if metadata:
        header["__metadata__"] = {k: metadata[k] for k in sorted(metadata)}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        if name == "__metadata__":
            raise ValueError("reserved tensor name")
        arr = np.asarray(tensors[name])
        dt = _st_dtype(arr)
        data = np.ascontiguousarray(arr, dtype=_DTYPES[dt]).tobytes(order="C")
        header[name] = {
            "dtype": dt,
            "shape": [int(s) for s in arr.shape],
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    hjson = json.dumps(header, separators=(",", ":"), ensure_ascii=True).encode("utf-8")
    pad = (-(8 + len(hjson))) % 8
    hjson += b" " * pad
    return struct.pack("<Q", len(hjson)) + hjson + b"".join(blobs)


def save(path, tensors, metadata=None):
    data = serialize(tensors, metadata)
    with open(path, "wb") as f:
        f.write(data)
    return len(data)


def parse(buf, strict=True):
    """Parse safetensors bytes. Returns (tensors: name -> ndarray, metadata: dict).

    With strict=True also checks the properties `serialize` guarantees:
    8-byte alignment of the data section, sorted-name contiguous layout, no
    gaps and no trailing bytes, BOOL bytes in {0,1}.
    """
    if len(buf) < 8:
        raise ValueError("file too short")
    (n,) = struct.unpack("<Q", buf[:8])
    if 8 + n > len(buf):
        raise ValueError("header length exceeds file size")
    header = json.loads(buf[8:8 + n].decode("utf-8"))
    if strict and (8 + n) % 8 != 0:
        raise ValueError("data section not 8-byte aligned")
    data = memoryview(buf)[8 + n:]
    metadata = header.pop("__metadata__", {}) or {}
    for k, v in metadata.items():
        if not isinstance(v, str):
            raise ValueError(f"metadata value for {k!r} is not a string")
    tensors = {}
    expect = 0
    names = sorted(header, key=lambda k: header[k]["data_offsets"][0]) if not strict else sorted(header)
    for name in names:
        info = header[name]
        if set(info) != {"dtype", "shape", "data_offsets"}:
            raise ValueError(f"{name}: unexpected header fields {sorted(info)}")
        dt = _DTYPES[info["dtype"]]
        shape = tuple(int(s) for s in info["shape"])
        begin, end = info["data_offsets"]
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if end - begin != count * dt.itemsize:
            raise ValueError(f"{name}: byte size {end - begin} != {count} x {dt.itemsize}")
        if strict and begin != expect:
            raise ValueError(f"{name}: gap or overlap at offset {begin}, expected {expect}")
        if end > len(data):
            raise ValueError(f"{name}: data past end of file")
        arr = np.frombuffer(data[begin:end], dtype=dt).reshape(shape).copy()
        if info["dtype"] == "BOOL" and strict:
            raw = np.frombuffer(data[begin:end], dtype=np.uint8)
            if raw.size and raw.max() > 1:
                raise ValueError(f"{name}: BOOL byte not 0/1")
        tensors[name] = arr
        expect = end
    if strict and expect != len(data):
        raise ValueError(f"{len(data) - expect} trailing bytes after last tensor")
    return tensors, metadata


def load(path, strict=True):
    with open(path, "rb") as f:
        return parse(f.read(), strict=strict)
