"""Minimal safetensors reader/writer (no dependency on the `safetensors` package).

File layout:
  8 bytes   little-endian u64 N = header length
  N bytes   UTF-8 JSON header, padded with spaces to a multiple of 8:
            {"name": {"dtype": "F32", "shape": [...], "data_offsets": [b, e]}, ...,
             "__metadata__": {str: str}}
  rest      raw little-endian tensor bytes; offsets are relative to the start of
            this data section, tensors stored back to back in the order written.
"""
import json
import os
import struct
import tempfile

import numpy as np

# safetensors dtype tag <-> numpy dtype (always little-endian on disk).
_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("bool"),
}


def _to_numpy(t):
    """Accept numpy arrays or torch tensors; return a C-contiguous numpy array."""
    if not isinstance(t, np.ndarray):
        # torch.Tensor (duck-typed so this module does not need torch).
        t = t.detach().cpu().numpy()
    return t


def _normalize(arr):
    """Store floating tensors as F32 and integer tensors as I64 (the two types Osprey reads)."""
    if np.issubdtype(arr.dtype, np.floating):
        return "F32", np.ascontiguousarray(arr, dtype="<f4")
    if np.issubdtype(arr.dtype, np.integer):
        return "I64", np.ascontiguousarray(arr, dtype="<i8")
    if arr.dtype == np.bool_:
        return "BOOL", np.ascontiguousarray(arr)
    raise TypeError(f"unsupported dtype {arr.dtype}")


def save_file(tensors, path, metadata=None):
    """Write {name: array} to `path` atomically (temp file in the same dir + rename)."""
    header = {}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        if name == "__metadata__":
            raise ValueError("'__metadata__' is reserved")
        tag, arr = _normalize(_to_numpy(t))
        nbytes = arr.nbytes
        header[name] = {"dtype": tag, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + nbytes]}
        blobs.append(arr)
        offset += nbytes
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}

    hdr = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hdr += b" " * (-len(hdr) % 8)  # pad so the data section starts 8-byte aligned

    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".safetensors")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(hdr)))
            f.write(hdr)
            for arr in blobs:
                f.write(arr.tobytes(order="C"))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; make it an ordinary file
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_header(path):
    """Return (header_dict, data_start_offset) without reading tensor data."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n).decode("utf-8"))
    return header, 8 + n


def load_metadata(path):
    return read_header(path)[0].get("__metadata__", {})


def load_file(path):
    """Read every tensor into a dict of numpy arrays (native copies, not memory maps)."""
    header, start = read_header(path)
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        if not (0 <= b <= e <= len(data)):
            raise ValueError(f"{path}: tensor {name} offsets {b}..{e} out of range")
        dt = _DTYPES[info["dtype"]]
        arr = np.frombuffer(data, dtype=dt, count=(e - b) // dt.itemsize, offset=b)
        out[name] = arr.reshape(info["shape"]).copy()
    return out
