"""Drift monitoring: PSI of each model feature and of the score, day D against the champion's
training data, kept in ops/drift_daily; breaching the threshold asks for retraining.

The reference ("the champion's training data") is the feature table's partition on the day the
champion was trained, `feature_date = trained_as_of` (the model version's MLflow tag). Why that
day and not the whole training window: a feature_date partition holds one row per account
active in the 7 days ending on that day, exactly the population a scored day holds, so the
comparison is like with like; the training window would count every account once per day it
was active and weigh old days as much as the newest. The reference's decile bins and bin shares
are computed once per model version and kept in ops/drift_reference, so every later day is
compared with the same bins even after the feature table is corrected by late data.

The score's reference is the champion's scores of its training day: the published gold rows of
that day when that version scored it, else the champion applied to that day's features. Day D's
scores come the same way (drift runs before scoring inside `riskctl run`).

Which model: the current champion (MLflow alias), except on a re-run of a day already monitored,
which reuses the version recorded in drift_daily so the day's rows do not change.

Group-level features (catalog families `cluster` and `cross_account`: the size, age or known-bad
share of an account's cluster, the accounts on its ASN or payment instrument) are left out. They
take one value per group, so one large group moves a whole block of accounts between bins at
once: on a generated lake one cluster of ~1,000 of ~1,900 accounts growing by 2% gave PSI 5-9
day after day (and `cluster_age_days` changes by design every day) while every behavioural
feature stayed below 0.1. The report's cluster section shows group growth instead.

A feature whose window (the `_7d`/`_28d` its name carries) was not yet full on the reference
day, because the lake's features start less than a window earlier, is left out: it grows every
day while its window fills, which is not drift.

Retraining is flagged when the score's PSI >= threshold, or when at least `min_flagged`
features have PSI >= threshold (defaults 0.25 and 3; RISK_DRIFT_PSI_THRESHOLD and
RISK_DRIFT_MIN_FEATURES override them).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

from core import delta_io, tables
from core.settings import is_remote, mlflow_tracking_uri, settings
from core.spark import get_spark
from models.model_registry import CHAMPION, model_name

log = logging.getLogger("risk.drift")

PSI_THRESHOLD = 0.25
MIN_FLAGGED_FEATURES = 3
SCORE_FEATURE = "risk_score"  # the score's row in drift_daily
FEATURES_TABLE = "account_features_daily"
FEATURES_PATH = "features/account_features_daily"  # used until the registry names the table
NOT_FEATURES = {"account_id", "feature_date", "score_date", "label", "is_positive"}
_NUMERIC = ("double", "float", "int", "bigint", "smallint", "tinyint", "boolean")


@dataclass(frozen=True)
class ModelRef:
    """The model whose training data is the reference."""

    name: str
    version: str
    trained_as_of: dt.date | None
    run_id: str | None = None


def thresholds(
    psi_threshold: float | None = None, min_flagged: int | None = None
) -> tuple[float, int]:
    """(PSI threshold, features needed to flag): arguments, else environment, else defaults."""
    current = settings()
    thr = next(
        v for v in (psi_threshold, current.drift_psi_threshold, PSI_THRESHOLD) if v is not None
    )
    n = next(
        v for v in (min_flagged, current.drift_min_features, MIN_FLAGGED_FEATURES) if v is not None
    )
    return thr, n


def should_retrain(
    rows: list[tuple[str, float]], psi_threshold: float, min_flagged: int
) -> tuple[bool, str]:
    """The retraining rule over (feature, psi) rows (the score's row is `risk_score`)."""
    score = next((p for f, p in rows if f == SCORE_FEATURE), None)
    flagged = [f for f, p in rows if f != SCORE_FEATURE and p >= psi_threshold]
    if score is not None and score >= psi_threshold:
        return True, f"score PSI {score:.3f} >= {psi_threshold}"
    if len(flagged) >= min_flagged:
        return True, (
            f"{len(flagged)} features with PSI >= {psi_threshold}: {', '.join(flagged[:10])}"
        )
    worst = max((r for r in rows if r[0] != SCORE_FEATURE), key=lambda r: r[1], default=None)
    worst_text = f"max feature PSI {worst[1]:.3f} ({worst[0]})" if worst else "no features"
    return False, (
        f"stable: {worst_text}, {len(flagged)} flagged (< {min_flagged})"
        + (f", score PSI {score:.3f}" if score is not None else "")
    )


def compute_drift(
    lake: str,
    day: dt.date,
    champion: ModelRef | None = None,
    psi_threshold: float | None = None,
    min_flagged: int | None = None,
) -> dict:
    """PSI of day `day` against the champion's training day; writes drift_daily for the day.

    `champion` overrides the MLflow lookup (tests, backfills against a named version).
    Returns a dict with "retrain" (bool) and "reason", plus the numbers behind them.
    """
    results = compute_drift_days(lake, [day], champion, psi_threshold, min_flagged)
    write_drift(lake, results)
    return results[day]


def compute_drift_days(
    lake: str,
    days: list[dt.date],
    champion: ModelRef | None = None,
    psi_threshold: float | None = None,
    min_flagged: int | None = None,
) -> dict[dt.date, dict]:
    """`compute_drift` of every day, without writing (`write_drift` does): the days one model
    is compared against share its reference and one Spark job per kind of count.

    Returns {day: result}; a result with "rows" is written by `write_drift`.
    """
    spark = get_spark()
    days = sorted(set(days))
    models = (
        {d: champion for d in days}
        if champion is not None
        else champions_for_days(spark, lake, days)
    )
    out: dict[dt.date, dict] = {}
    groups: dict[ModelRef, list[dt.date]] = {}
    for day in days:
        model = models.get(day)
        if model is None:
            log.info("drift day=%s skipped: no champion model", day)
            out[day] = {"day": day.isoformat(), "retrain": False, "reason": "no champion"}
        elif model.trained_as_of is None:
            reason = f"model {model.name} v{model.version} has no trained_as_of tag"
            log.warning("drift day=%s skipped: %s", day, reason)
            out[day] = {
                "day": day.isoformat(),
                "model_name": model.name,
                "model_version": model.version,
                "retrain": False,
                "reason": reason,
            }
        else:
            groups.setdefault(model, []).append(day)
    if groups:
        feats = read_features(spark, lake)
        for model, model_days in groups.items():
            out.update(
                _drift_of_model(spark, lake, feats, model, model_days, psi_threshold, min_flagged)
            )
    return out


def _drift_of_model(
    spark,
    lake: str,
    feats,
    model: ModelRef,
    days: list[dt.date],
    psi_threshold: float | None,
    min_flagged: int | None,
) -> dict[dt.date, dict]:
    from pyspark.sql import functions as F

    from models import psi

    started = time.monotonic()
    thr, min_n = thresholds(psi_threshold, min_flagged)
    base = {
        "model_name": model.name,
        "model_version": model.version,
        "reference_date": model.trained_as_of.isoformat(),
    }

    def skipped(reason: str, which: list[dt.date]) -> dict[dt.date, dict]:
        for day in which:
            log.warning("drift day=%s skipped: %s", day, reason)
        return {
            d: {"day": d.isoformat(), **base, "retrain": False, "reason": reason.format(day=d)}
            for d in which
        }

    if feats is None:
        return skipped("no feature table", days)
    current = feats.where(F.col("feature_date").isin(days)).cache()
    try:
        present = {r[0] for r in current.select("feature_date").distinct().collect()}
        out = skipped("no feature rows for {day}", [d for d in days if d not in present])
        days = [d for d in days if d in present]
        if not days:
            return out
        columns, grouped = split_group_level(monitored_columns(feats))
        columns, warming = full_windows(columns, _first_day(feats), model.trained_as_of)
        if warming:
            log.info(
                "drift days=%s..%s leave out %d features whose window was not full on %s: %s",
                days[0],
                days[-1],
                len(warming),
                model.trained_as_of,
                ", ".join(warming[:10]),
            )
        profiles = reference_profiles(spark, lake, model, feats, columns)
        if profiles is None:
            return {
                **out,
                **skipped(f"no feature rows on the reference day {model.trained_as_of}", days),
            }
        features = {c: p for c, p in profiles.items() if c != SCORE_FEATURE}
        counts = psi.bin_counts_by(
            current,
            {c: p.edges for c, p in features.items() if c in current.columns},
            "feature_date",
        )
        score_counts = {}
        if SCORE_FEATURE in profiles:
            scores = days_scores(spark, lake, model, days, current)
            if scores is not None:
                score_counts = psi.bin_counts_by(
                    scores, {SCORE_FEATURE: profiles[SCORE_FEATURE].edges}, "feature_date"
                )
    finally:
        current.unpersist()

    secs = round((time.monotonic() - started) / len(days), 1)
    for day in days:
        rows = psi.psi_rows(features, counts.get(day, {}))
        if day in score_counts:
            rows += psi.psi_rows({SCORE_FEATURE: profiles[SCORE_FEATURE]}, score_counts[day])
        retrain, reason = should_retrain(rows, thr, min_n)
        rows.sort(key=lambda r: (-r[1], r[0]))
        score_psi = next((p for f, p in rows if f == SCORE_FEATURE), None)
        flagged = [f for f, p in rows if p >= thr and f != SCORE_FEATURE]
        out[day] = {
            "day": day.isoformat(),
            **base,
            "retrain": retrain,
            "reason": reason,
            "score_psi": score_psi,
            "flagged": flagged,
            "top": rows[:10],
            "n_features": len(rows),
            "left_out_warming_up": warming,
            "left_out_group_level": grouped,
            "threshold": thr,
            "min_flagged": min_n,
            "rows": rows,
            "secs": secs,
        }
        log.info(
            "drift day=%s table=%s model=%s v%s reference=%s features=%d flagged=%d "
            "score_psi=%s retrain=%s",
            day,
            tables.DRIFT.name,
            model.name,
            model.version,
            model.trained_as_of,
            len(rows),
            len(flagged),
            "n/a" if score_psi is None else f"{score_psi:.3f}",
            retrain,
        )
    return out


def write_drift(lake: str, results: dict[dt.date, dict]) -> None:
    """Replace drift_daily on the days of `results` that were computed (one commit)."""
    done = {d: r for d, r in results.items() if "rows" in r}
    if not done:
        return
    spark = get_spark()
    computed_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)  # a stamp, not business logic
    rows = [
        (day, r["model_version"], f, float(p), bool(p >= r["threshold"]), computed_at)
        for day, r in sorted(done.items())
        for f, p in r["rows"]
    ]
    out = spark.createDataFrame(rows, tables.DRIFT.schema)
    delta_io.replace_partitions(out, tables.DRIFT, lake, score_date=sorted(done))


# --- the reference -------------------------------------------------------------------------------


def reference_profiles(spark, lake: str, model: ModelRef, feats, columns: list[str]):
    """Stored profiles of the model version, computing (once) any that are missing.

    Returns {feature: ReferenceBins} (with `risk_score` when the score's reference could be had), or
    None when the reference day has no feature rows.
    """
    from pyspark.sql import functions as F

    from models import psi

    table = tables.DRIFT_REFERENCE
    stored = {
        r["feature"]: psi.ReferenceBins(tuple(r["edges"]), tuple(r["fractions"]), int(r["n_rows"]))
        for r in delta_io.read(spark, table, lake)
        .where((F.col("model_name") == model.name) & (F.col("model_version") == model.version))
        .collect()
    }
    missing = [c for c in columns if c not in stored]
    want_score = SCORE_FEATURE not in stored
    if not missing and not want_score:
        return {c: stored[c] for c in [*columns, SCORE_FEATURE]}

    ref_day = model.trained_as_of
    ref = feats.where(F.col("feature_date") == F.lit(ref_day)).cache()
    try:
        if ref.isEmpty():  # compare with what was stored, if anything
            return {c: stored[c] for c in [*columns, SCORE_FEATURE] if c in stored} or None
        new = psi.reference_profiles(ref, missing) if missing else {}
        if want_score:
            scores = day_scores(spark, lake, model, ref_day, ref)
            if scores is not None:
                new.update(psi.reference_profiles(scores, [SCORE_FEATURE]))
    finally:
        ref.unpersist()
    if new:
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        df = spark.createDataFrame(
            [
                (
                    model.name,
                    model.version,
                    ref_day,
                    f,
                    list(p.edges),
                    list(p.fractions),
                    p.n_rows,
                    now,
                )
                for f, p in new.items()
            ],
            table.schema,
        )
        delta_io.replace_where(
            df,
            table,
            lake,
            delta_io.predicate(
                model_name=model.name, model_version=model.version, feature=sorted(new)
            ),
        )
        log.info(
            "drift reference model=%s v%s reference=%s table=%s features=%d",
            model.name,
            model.version,
            ref_day,
            table.name,
            len(new),
        )
    stored.update(new)
    return {c: stored[c] for c in [*columns, SCORE_FEATURE] if c in stored}


def day_scores(spark, lake: str, model: ModelRef, day: dt.date, feats_of_day):
    """The model's risk_score over one day's accounts, or None when it cannot be had."""
    return days_scores(spark, lake, model, [day], feats_of_day)


def days_scores(spark, lake: str, model: ModelRef, days: list[dt.date], feats_of_days):
    """(feature_date, risk_score) of the model over the days' accounts, or None when no day's
    can be had.

    The published gold rows of the days this version scored; else the model applied to the
    day's feature rows (models.scoring), e.g. before the day is scored.
    """
    from pyspark.sql import functions as F

    gold = (
        delta_io.read(spark, tables.ACCOUNT_SCORES, lake)
        .where(
            F.col("score_date").isin(days)
            & (F.col("model_name") == model.name)
            & (F.col("model_version") == model.version)
        )
        .select(F.col("score_date").alias("feature_date"), SCORE_FEATURE)
    )
    published = {r[0] for r in gold.select("feature_date").distinct().collect()}
    parts = [gold] if published else []
    rest = [d for d in days if d not in published]
    scorer = _scorer(lake, model) if rest else None
    if scorer is not None:
        parts.append(
            scorer(feats_of_days.where(F.col("feature_date").isin(rest))).select(
                "feature_date", SCORE_FEATURE
            )
        )
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else parts[0].unionByName(parts[1])


# Loaded model versions of this process (None: it could not be loaded; not retried).
_HANDLES: dict[tuple[str, str, str], object] = {}


def _scorer(lake: str, model: ModelRef):
    """A function features -> scores for the model version, or None (logged) if unavailable."""
    from models.scoring import load_version

    key = (lake, model.name, model.version)
    if key not in _HANDLES:
        try:
            _HANDLES[key] = load_version(lake, model.version)
        except Exception as exc:  # drift is a monitor: a model that cannot load fails scoring
            log.warning(
                "drift: cannot load model %s v%s for the score PSI: %s: %s",
                model.name,
                model.version,
                type(exc).__name__,
                exc,
            )
            _HANDLES[key] = None
    handle = _HANDLES[key]
    if handle is None:
        return None

    def scores_only(df):
        # Only risk_score is needed: skip the SHAP contributions and reasons scoring computes.
        from pyspark.sql import functions as F

        from models.scoring import check_features, with_margin

        check_features(df.columns, handle)
        names = handle.feature_names
        x = df.select(
            "feature_date", "account_id", *[F.col(n).cast("double").alias(n) for n in names]
        )
        margin = with_margin(x, handle.model, contributions=False)
        return margin.select(
            "feature_date",
            handle.config.calibration.column(F.col("margin")).cast("double").alias(SCORE_FEATURE),
        )

    return scores_only


# --- the feature table --------------------------------------------------------------------------


def read_features(spark, lake: str):
    """The daily feature table, or None when it does not exist yet."""
    try:
        table = tables.table(FEATURES_TABLE)
    except KeyError:
        table = None
    if table is not None:
        return delta_io.read(spark, table, lake) if delta_io.exists(spark, table, lake) else None
    from delta.tables import DeltaTable

    uri = f"{lake.rstrip('/')}/{FEATURES_PATH}"
    if not DeltaTable.isDeltaTable(spark, uri):
        return None
    return spark.read.format("delta").load(uri)


GROUP_FAMILIES = ("cluster", "cross_account")


def split_group_level(columns: list[str]) -> tuple[list[str], list[str]]:
    """(per-account features, group-level features) by catalog family (`cluster_*` without one)."""
    from features.catalog import feature_columns

    family = {f.name: f.family for f in feature_columns()}
    grouped = [
        c
        for c in columns
        if family.get(c) in GROUP_FAMILIES or (c not in family and c.startswith("cluster_"))
    ]
    return [c for c in columns if c not in grouped], grouped


_WINDOW = re.compile(r"_(\d+)d$")


def window_days(feature: str) -> int:
    """The window a feature name carries (`requests_28d` -> 28); 0 when it names none."""
    m = _WINDOW.search(feature)
    return int(m.group(1)) if m else 0


def full_windows(
    columns: list[str], first_day: dt.date | None, reference_day: dt.date
) -> tuple[list[str], list[str]]:
    """(features to monitor, features left out): a feature whose window reaches back before
    the lake's first feature day on the reference day is still filling up there, so it
    "drifts" every day until the window is full; such features are left out until a model
    trained on a later day becomes the reference."""
    if first_day is None:
        return columns, []
    history = (reference_day - first_day).days + 1
    warming = [c for c in columns if window_days(c) > history]
    return [c for c in columns if c not in warming], warming


def _first_day(feats) -> dt.date | None:
    from pyspark.sql import functions as F

    return feats.agg(F.min("feature_date")).first()[0]


def monitored_columns(feats) -> list[str]:
    """The model's features (the catalog) present in the table; else every numeric column."""
    from features.catalog import model_feature_names

    names = list(model_feature_names())
    if names:
        absent = [n for n in names if n not in feats.columns]
        if absent:
            log.warning("drift: catalog features missing from the table: %s", absent[:10])
        return [n for n in names if n in feats.columns]
    return [
        c
        for c, t in feats.dtypes
        if c not in NOT_FEATURES and (t in _NUMERIC or t.startswith("decimal"))
    ]


# --- MLflow --------------------------------------------------------------------------------------


def mlflow_client(lake: str):
    """An MlflowClient for the lake's registry, or None when the lake has none yet.

    Without MLFLOW_TRACKING_URI the registry is the SQLite file under the lake: when it does not
    exist no model can have been trained, and opening it would create an empty database.
    """
    if (
        not settings().mlflow_tracking_uri
        and not is_remote(lake)
        and not (Path(lake) / "_mlflow" / "mlflow.db").is_file()
    ):
        return None
    from mlflow import MlflowClient

    uri = mlflow_tracking_uri(lake)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def model_ref(client, name: str, version: str | None = None) -> ModelRef | None:
    """ModelRef of a version (default: the champion), with its trained_as_of day."""
    from mlflow.exceptions import MlflowException

    try:
        mv = (
            client.get_model_version(name, version)
            if version
            else client.get_model_version_by_alias(name, CHAMPION)
        )
    except MlflowException:
        return None
    text = (mv.tags or {}).get("trained_as_of")
    if not text and mv.run_id:
        try:
            data = client.get_run(mv.run_id).data
            text = data.tags.get("trained_as_of") or data.params.get("trained_as_of")
        except MlflowException:
            text = None
    return ModelRef(name, str(mv.version), _parse_day(text), mv.run_id)


def champion_for_day(spark, lake: str, day: dt.date) -> ModelRef | None:
    """The champion; on a re-run of a monitored day, the version recorded for it."""
    return champions_for_days(spark, lake, [day]).get(day)


def champions_for_days(spark, lake: str, days: list[dt.date]) -> dict[dt.date, ModelRef]:
    """`champion_for_day` of each day (days without a model are left out); one read.

    A champion trained as of a later day does not monitor a day it was not recorded for: on
    a re-run of a day before the first model, the day stays unmonitored, as it was.
    """
    from pyspark.sql import functions as F

    client = mlflow_client(lake)
    if client is None:
        return {}
    name = model_name()
    recorded = {
        r["score_date"]: r["model_version"]
        for r in delta_io.read(spark, tables.DRIFT, lake)
        .where(F.col("score_date").isin(days))
        .groupBy("score_date")
        .agg(F.first("model_version").alias("model_version"))
        .collect()
    }
    refs: dict[str | None, ModelRef | None] = {}

    def ref(version: str | None) -> ModelRef | None:
        if version not in refs:
            refs[version] = model_ref(client, name, version)
        return refs[version]

    out = {}
    for day in days:
        model = ref(recorded[day]) if day in recorded else None
        if model is None:
            model = ref(None)
            if model is not None and model.trained_as_of and model.trained_as_of > day:
                model = None
        if model is not None:
            out[day] = model
    return out


def _parse_day(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(str(text)[:10])
    except ValueError:
        return None
