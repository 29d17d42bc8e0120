"""One way to compare frames in tests: rows in any order, doubles to a relative tolerance.

Spark's own `pyspark.testing.assertDataFrameEqual` would do, but in PySpark 4.0.1 it imports
`pyspark.pandas`, which fails against the pinned pandas 3 (`DateOffset` moved), whatever the
inputs are.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from pyspark.sql import DataFrame, Row


def _rows(frame: DataFrame | Sequence[Row], ignore: set[str]) -> tuple[list[str], list[tuple]]:
    rows = frame.collect() if isinstance(frame, DataFrame) else list(frame)
    if isinstance(frame, DataFrame):
        columns = [c for c in frame.columns if c not in ignore]
    else:
        columns = [c for c in (rows[0].__fields__ if rows else []) if c not in ignore]
    out = [tuple(r[c] for c in columns) for r in rows]
    return columns, sorted(out, key=repr)


def _same(a: object, b: object, rtol: float) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=rtol, abs_tol=0.0)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y, rtol) for x, y in zip(a, b, strict=True))
    return a == b


def assert_frames_equal(
    actual: DataFrame | Sequence[Row],
    expected: DataFrame | Sequence[Row],
    ignore: Iterable[str] = (),
    rtol: float = 1e-9,
) -> None:
    """Same columns and the same rows in any order, leaving out the columns named in `ignore`.

    Raises AssertionError naming the first rows that differ.
    """
    drop = set(ignore)
    cols_a, rows_a = _rows(actual, drop)
    cols_e, rows_e = _rows(expected, drop)
    assert cols_a == cols_e, f"columns differ: {cols_a} != {cols_e}"
    assert len(rows_a) == len(rows_e), f"{len(rows_a)} rows != {len(rows_e)} rows"
    for a, e in zip(rows_a, rows_e, strict=True):
        assert _same(a, e, rtol), f"rows differ: {a} != {e}"
