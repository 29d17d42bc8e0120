"""Vectorised JSON Lines rendering.

Serialising a million small dicts in Python costs seconds; instead every field becomes a column
of JSON fragments (`"key":value`) built with numpy byte matrices (fixed-width fields) and Arrow
string kernels (variable-width ones), and one element-wise join makes the lines. A null fragment
is skipped by the join, which is how an optional field is left out.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
HEXU = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)
DIG = np.frombuffer(b"0123456789", dtype=np.uint8)
NULL = pa.scalar(None, pa.string())
# byte -> its two hex digits: one gather renders 8 bytes as 16 hex characters
HEX2 = np.stack([HEX[np.arange(256) >> 4], HEX[np.arange(256) & 15]], axis=1)
HEX2U = np.stack([HEXU[np.arange(256) >> 4], HEXU[np.arange(256) & 15]], axis=1)
# 16-bit value -> its four hex digits as one uint32 (bytes in text order): 4 chars per gather
_v = np.arange(65536)
HEX4 = (
    np.ascontiguousarray(np.stack([HEX[(_v >> s) & 15] for s in (12, 8, 4, 0)], axis=1))
    .view(np.uint32)
    .ravel()
)


def lit(s: str) -> np.ndarray:
    return np.frombuffer(s.encode(), dtype=np.uint8)


def from_matrix(m: np.ndarray) -> pa.StringArray:
    """Rows of a uint8 matrix as an Arrow string array, without a Python loop."""
    n, width = m.shape
    offsets = np.arange(n + 1, dtype=np.int32) * np.int32(width)
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(m))
    )


def _frame(prefix: str, body: np.ndarray, suffix: str) -> np.ndarray:
    p, s = lit(prefix), lit(suffix)
    n, w = body.shape
    m = np.empty((n, len(p) + w + len(s)), dtype=np.uint8)
    m[:, : len(p)] = p
    m[:, len(p) : len(p) + w] = body
    if len(s):
        m[:, len(p) + w :] = s
    return m


def framed(
    prefix: str, body: np.ndarray, suffix: str = "", valid: np.ndarray | None = None
) -> pa.StringArray:
    """prefix + fixed-width body + suffix per row; rows not `valid` are null (left out)."""
    m = _frame(prefix, body, suffix)
    if valid is None:
        return from_matrix(m)
    n, width = m.shape
    offsets = np.arange(n + 1, dtype=np.int32) * np.int32(width)
    bitmap = np.packbits(valid, bitorder="little")
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(m), pa.py_buffer(bitmap)
    )


def sparse(rows: np.ndarray, prefix: str, body: np.ndarray, suffix: str = "") -> pa.StringArray:
    """A column that exists only on `rows` (bool mask); body holds those rows only."""
    m = _frame(prefix, body, suffix)
    lengths = np.where(rows, m.shape[1], 0).astype(np.int32)
    offsets = np.concatenate([[0], np.cumsum(lengths, dtype=np.int32)]).astype(np.int32)
    bitmap = np.packbits(rows, bitorder="little")
    return pa.StringArray.from_buffers(
        len(rows),
        pa.py_buffer(offsets),
        pa.py_buffer(np.ascontiguousarray(m)),
        pa.py_buffer(bitmap),
    )


def varwidth(m: np.ndarray, lengths: np.ndarray) -> pa.StringArray:
    """Rows of a left-aligned, padded uint8 matrix cut to their lengths, as Arrow strings."""
    n, width = m.shape
    keep = np.arange(width, dtype=np.int32)[None, :] < lengths[:, None]
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(m[keep]))


# octet value -> up to three digit characters (left-aligned) and how many
OCT = np.zeros((256, 3), np.uint8)
OCT_LEN = np.array([len(str(v)) for v in range(256)], dtype=np.int64)
for _v in range(256):
    OCT[_v, : OCT_LEN[_v]] = np.frombuffer(str(_v).encode(), np.uint8)


def ip_fragment(
    prefix: str, ip: np.ndarray, v6_rows: np.ndarray, v6_body: np.ndarray, suffix: str
) -> pa.StringArray:
    """prefix + dotted IPv4 (or the given IPv6 text on v6_rows) + suffix, built in numpy."""
    n = len(ip)
    p, sfx = lit(prefix), lit(suffix)
    width = len(p) + max(15, v6_body.shape[1] if len(v6_body) else 0) + len(sfx)
    m = np.zeros((n, width), np.uint8)
    m[:, : len(p)] = p
    flat = m.ravel()
    base = np.arange(n, dtype=np.int64) * width
    pos = np.full(n, len(p), np.int64)
    for k, sh in enumerate((24, 16, 8, 0)):
        o = ((ip >> np.uint32(sh)) & np.uint32(255)).astype(np.intp)
        if k:
            flat[base + pos] = ord(".")
            pos += 1
        for j in range(3):  # write all three slots; the next write or the cut removes extras
            flat[base + pos + j] = OCT[o, j]
        pos += OCT_LEN[o]
    if len(v6_body):
        rows = np.flatnonzero(v6_rows)
        m[rows, len(p) : len(p) + v6_body.shape[1]] = v6_body
        pos[rows] = len(p) + v6_body.shape[1]
    for j, ch in enumerate(sfx):
        flat[base + pos + j] = ch
    return varwidth(m, (pos + len(sfx)).astype(np.int32))


def hex64(x: np.ndarray, upper: np.ndarray | None = None) -> np.ndarray:
    """uint64 values as (n, 16) lower-case hex digits (upper-case where `upper`)."""
    n = len(x)
    words = np.ascontiguousarray(x.astype(">u8")).view(">u2").reshape(n, 4)
    out = HEX4[words].view(np.uint8).reshape(n, 16)
    if upper is not None and upper.any():
        b = np.ascontiguousarray(x[upper].astype(">u8")).view(np.uint8).reshape(-1, 8)
        out[upper] = HEX2U[b].reshape(-1, 16)
    return out


def uuid4(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random version-4 UUID text as an (n, 36) byte matrix."""
    raw = np.frombuffer(rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, 6] = 0x40 | (raw[:, 6] & 0x0F)
    raw[:, 8] = 0x80 | (raw[:, 8] & 0x3F)
    h = HEX4[raw.view(">u2")].view(np.uint8).reshape(n, 32)
    out = np.empty((n, 36), dtype=np.uint8)
    out[:, 0:8], out[:, 9:13], out[:, 14:18] = h[:, 0:8], h[:, 8:12], h[:, 12:16]
    out[:, 19:23], out[:, 24:36] = h[:, 16:20], h[:, 20:32]
    out[:, [8, 13, 18, 23]] = ord("-")
    return out


def _digits(m: np.ndarray, col: int, value: np.ndarray, width: int) -> None:
    for i in range(width - 1, -1, -1):
        m[:, col + i] = DIG[value % 10]
        value = value // 10


def ts_matrix(ms: np.ndarray, offset_min: np.ndarray | None = None) -> np.ndarray:
    """RFC 3339 text: 'YYYY-MM-DDTHH:MM:SS.mmmZ', or with '+HH:MM' when offsets are given
    (the same instant written in another zone)."""
    ms = np.asarray(ms, dtype=np.int64)
    if offset_min is not None:
        ms = ms + offset_min.astype(np.int64) * 60_000
    n = len(ms)
    day = ms // 86_400_000
    rem = ms - day * 86_400_000
    d64 = day.astype("datetime64[D]")
    year = d64.astype("datetime64[Y]").astype(np.int64) + 1970
    mon64 = d64.astype("datetime64[M]")
    month = mon64.astype(np.int64) % 12 + 1
    dom = (d64 - mon64.astype("datetime64[D]")).astype(np.int64) + 1
    width = 24 if offset_min is None else 29
    m = np.empty((n, width), dtype=np.uint8)
    _digits(m, 0, year, 4)
    _digits(m, 5, month, 2)
    _digits(m, 8, dom, 2)
    _digits(m, 11, rem // 3_600_000, 2)
    _digits(m, 14, rem // 60_000 % 60, 2)
    _digits(m, 17, rem // 1000 % 60, 2)
    _digits(m, 20, rem % 1000, 3)
    m[:, 4] = m[:, 7] = ord("-")
    m[:, 10] = ord("T")
    m[:, 13] = m[:, 16] = ord(":")
    m[:, 19] = ord(".")
    if offset_min is None:
        m[:, 23] = ord("Z")
    else:
        off = offset_min.astype(np.int64)
        m[:, 23] = np.where(off < 0, ord("-"), ord("+"))
        a = np.abs(off)
        _digits(m, 24, a // 60, 2)
        m[:, 26] = ord(":")
        _digits(m, 27, a % 60, 2)
    return m


def ts_strings(ms: np.ndarray) -> list[str]:
    m = ts_matrix(ms)
    return np.ascontiguousarray(m).view("S24").ravel().astype("U24").tolist()


def num(prefix: str, values: np.ndarray, absent: np.ndarray | None = None) -> pa.Array:
    """prefix + decimal integer; null (field left out) where `absent`."""
    return pc.binary_join_element_wise(prefix, digits(values, absent), "")


def digits(values: np.ndarray, absent: np.ndarray | None = None) -> pa.Array:
    return pc.cast(pa.array(values, mask=absent), pa.string())


def vocab(key: str, values: list, quote: bool = True, prefix: str = "") -> pa.StringArray:
    """Pre-rendered fragments for a small vocabulary, to be gathered with take()."""
    if quote:
        return pa.array([f'{prefix}"{key}":"{v}"' for v in values], pa.string())
    return pa.array([f'{prefix}"{key}":{v}' for v in values], pa.string())


def take(frags: pa.Array, codes: np.ndarray, present: np.ndarray | None = None) -> pa.Array:
    """Gather fragments by code; a code < 0 or a False in `present` leaves the field out."""
    codes = np.asarray(codes, dtype=np.int64)
    mask = codes < 0
    if present is not None:
        mask = mask | ~present
    if not mask.any():
        return frags.take(pa.array(codes))
    return frags.take(pa.array(np.where(mask, 0, codes), mask=mask))


def join_lines(frags: list) -> pa.Array:
    """Concatenate fragments row by row; each fragment carries its own leading comma, so a
    null (absent) fragment simply disappears."""
    return pc.binary_join_element_wise(*frags, "", null_handling="skip")


def gather_bytes(
    arr: pa.Array, idx: np.ndarray, override: dict[int, bytes] | None = None
) -> list[memoryview | bytes]:
    """The lines idx of a string array as a list of byte runs (views into arr), with the rows in
    `override` replaced by other text. Output order is nearly the input order (a few lines moved
    or repeated), so copying runs beats a per-row take."""
    if len(idx) == 0:
        return []
    offs = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset : arr.offset + len(arr) + 1]
    data = memoryview(arr.buffers()[2])
    cut = np.diff(idx) != 1
    if override:
        is_ovr = np.isin(idx, np.fromiter(override, dtype=np.int64))
        cut |= is_ovr[1:] | is_ovr[:-1]  # an overridden row is a run of its own
    brk = np.flatnonzero(cut) + 1
    first = idx[np.concatenate([[0], brk])]
    last = idx[np.concatenate([brk - 1, [len(idx) - 1]])] + 1
    lo, hi = offs[first].tolist(), offs[last].tolist()
    if not override:
        return [data[a:b] for a, b in zip(lo, hi, strict=True)]
    return [
        override[r] if r in override else data[a:b]
        for r, a, b in zip(first.tolist(), lo, hi, strict=True)
    ]


def text_bytes(arr: pa.Array) -> memoryview:
    """The concatenated UTF-8 payload of a string array (its lines), zero-copy."""
    if len(arr) == 0:
        return memoryview(b"")
    offs = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset : arr.offset + len(arr) + 1]
    return memoryview(arr.buffers()[2])[int(offs[0]) : int(offs[-1])]
