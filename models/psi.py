"""Population stability index (PSI): how far a day's feature distribution moved from a reference.

Pure: DataFrames and lists in, numbers out; no table I/O, no session, no clock.

Method (the usual credit-risk PSI):
- bins come from the reference only: its deciles (9 cut points), duplicates dropped, so a
  feature with many ties (counts that are mostly 0) gets fewer, wider bins instead of empty
  ones; bin i holds `edges[i-1] < x <= edges[i]`, the last bin everything above the last edge;
- one more bin holds nulls and NaNs, so a change in missingness counts as drift too;
- shares of the reference (r) and of the day (c) per bin, each floored at `eps` so an empty bin
  gives a large but finite term: PSI = sum((c - r) * ln(c / r)).
Rule of thumb: < 0.1 stable, 0.1-0.25 moderate shift, >= 0.25 significant shift.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

N_BINS = 10
EPSILON = 1e-4
RELATIVE_ERROR = 0.001  # approxQuantile: exact enough for deciles, one pass over the data


@dataclass(frozen=True)
class ReferenceBins:
    """A feature's reference: cut points and the share of rows in each bin (last bin = nulls)."""

    edges: tuple[float, ...]
    fractions: tuple[float, ...]
    n_rows: int

    @property
    def n_bins(self) -> int:
        return len(self.edges) + 2  # value bins + the null bin


def quantile_edges(
    df: DataFrame,
    columns: Sequence[str],
    n_bins: int = N_BINS,
    relative_error: float = RELATIVE_ERROR,
) -> dict[str, tuple[float, ...]]:
    """Distinct, sorted cut points at the reference's 1/n_bins quantiles, per column."""
    if not columns:
        return {}
    probs = [i / n_bins for i in range(1, n_bins)]
    clean = df.select([_numeric(c).alias(c) for c in columns])
    # approxQuantile skips nulls (NaNs were turned into nulls by _numeric).
    quantiles = clean.approxQuantile(list(columns), probs, relative_error)
    return {
        c: tuple(sorted({float(q) for q in qs})) for c, qs in zip(columns, quantiles, strict=True)
    }


def bin_counts(df: DataFrame, edges: Mapping[str, Sequence[float]]) -> dict[str, list[int]]:
    """Rows per bin for every column in `edges`, in one pass (one Spark job).

    Returns, per column, len(edges) + 2 counts: the value bins, then the null bin.
    """
    if not edges:
        return {}
    binned = []
    for col, cuts in edges.items():
        value = _numeric(col)
        index = sum((value > F.lit(float(e))).cast("int") for e in cuts) if cuts else F.lit(0)
        binned.append(
            F.struct(
                F.lit(col).alias("feature"),
                F.when(value.isNull(), F.lit(len(cuts) + 1)).otherwise(index).alias("bin"),
            )
        )
    rows = (
        df.select(F.explode(F.array(*binned)).alias("b"))
        .groupBy("b.feature", "b.bin")
        .count()
        .collect()
    )
    out = {col: [0] * (len(cuts) + 2) for col, cuts in edges.items()}
    for row in rows:
        out[row["feature"]][row["bin"]] = int(row["count"])
    return out


def bin_counts_by(
    df: DataFrame,
    edges: Mapping[str, Sequence[float]],
    group: str,
) -> dict[object, dict[str, list[int]]]:
    """`bin_counts` of each value of the column `group` (e.g. each day), in one Spark job.

    Returns {group value: {column: counts}} for the group values present in `df`.
    """
    if not edges:
        return {}
    binned = []
    for col, cuts in edges.items():
        value = _numeric(col)
        index = sum((value > F.lit(float(e))).cast("int") for e in cuts) if cuts else F.lit(0)
        binned.append(
            F.struct(
                F.lit(col).alias("feature"),
                F.when(value.isNull(), F.lit(len(cuts) + 1)).otherwise(index).alias("bin"),
            )
        )
    rows = (
        df.select(F.col(group).alias("_group"), F.explode(F.array(*binned)).alias("b"))
        .groupBy("_group", "b.feature", "b.bin")
        .count()
        .collect()
    )
    out: dict[object, dict[str, list[int]]] = {}
    for row in rows:
        per = out.setdefault(row["_group"], {c: [0] * (len(cuts) + 2) for c, cuts in edges.items()})
        per[row["feature"]][row["bin"]] = int(row["count"])
    return out


def psi_rows(
    reference: dict[str, ReferenceBins], counts: dict[str, list[int]], eps: float = EPSILON
) -> list[tuple[str, float]]:
    """(feature, psi) from bin counts against each reference profile, largest shift first."""
    rows = [(c, psi(reference[c].fractions, shares(counts[c]), eps)) for c in counts]
    return sorted(rows, key=lambda r: (-r[1], r[0]))


def shares(counts: Sequence[int]) -> tuple[float, ...]:
    total = sum(counts)
    return tuple(c / total for c in counts) if total else tuple(0.0 for _ in counts)


def psi(reference: Sequence[float], current: Sequence[float], eps: float = EPSILON) -> float:
    """PSI between two share vectors over the same bins (each share floored at eps)."""
    if len(reference) != len(current):
        raise ValueError(f"bins differ: {len(reference)} reference vs {len(current)} current")
    total = 0.0
    for r, c in zip(reference, current, strict=True):
        r, c = max(r, eps), max(c, eps)
        total += (c - r) * math.log(c / r)
    return total


def reference_profiles(
    df: DataFrame,
    columns: Sequence[str],
    n_bins: int = N_BINS,
    relative_error: float = RELATIVE_ERROR,
) -> dict[str, ReferenceBins]:
    """The reference sample's bins and bin shares for each column (stored once per model)."""
    edges = quantile_edges(df, columns, n_bins, relative_error)
    counts = bin_counts(df, edges)
    return {c: ReferenceBins(edges[c], shares(counts[c]), sum(counts[c])) for c in columns}


def population_stability(
    reference: dict[str, ReferenceBins], current: DataFrame, eps: float = EPSILON
) -> list[tuple[str, float]]:
    """(feature, psi) of `current` against each reference profile, largest shift first.

    Columns missing from `current` are skipped (the caller reports them).
    """
    present = {c: p.edges for c, p in reference.items() if c in current.columns}
    counts = bin_counts(current, present)
    rows = [(c, psi(reference[c].fractions, shares(counts[c]), eps)) for c in present]
    return sorted(rows, key=lambda r: (-r[1], r[0]))


def feature_psi(
    reference: DataFrame,
    current: DataFrame,
    columns: Sequence[str],
    n_bins: int = N_BINS,
    eps: float = EPSILON,
) -> list[tuple[str, float]]:
    """PSI of each column between two frames (reference bins computed on the fly)."""
    return population_stability(reference_profiles(reference, columns, n_bins), current, eps)


def _numeric(col: str):
    """The column as double, NaN as null (Spark orders NaN above every number)."""
    value = F.col(col).cast("double")
    return F.when(F.isnan(value), F.lit(None).cast("double")).otherwise(value)
