"""Scoring job: the champion (before any exists, the label-free scorer) scores every account
active in the 7 days ending on each day, and both gold tables of LAKE.md are published for those
days.

A range of days is scored in one pass per model version (each day by the version that scored
it before, on a re-run, else by the champion, else by the label-free scorer), computed once
into ops/scores_staging; both gold tables are then written from that staging slice, each in
one commit (`replaceWhere` on the range's score dates), so a re-run replaces the days and a
run killed halfway is repaired by running it again.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from core import delta_io, tables
from core.errors import ModelFeatureMismatch, NoChampion, PipelineError
from core.spark import get_spark
from features.tables import ACCOUNT_CLUSTERS_MAP, ACCOUNT_FEATURES

log = logging.getLogger("risk.score")


def recorded_models(spark, lake: str, days: list[dt.date]) -> dict[dt.date, str]:
    """{day: the model version that scored it before} for the days scored before (a re-run
    reuses it)."""
    from pyspark.sql import functions as F

    rows = (
        delta_io.read(spark, tables.MODEL_DAYS, lake)
        .where(F.col("score_date").isin(days))
        .select("score_date", "model_version")
        .collect()
    )
    return {r["score_date"]: r["model_version"] for r in rows}


def recorded_model(spark, lake: str, day: dt.date) -> str | None:
    """The model version that scored `day` before, if any (a re-run reuses it)."""
    return recorded_models(spark, lake, [day]).get(day)


def record_model(spark, lake: str, day: dt.date, name: str, version: str, now: dt.datetime) -> None:
    record_models(spark, lake, {day: (name, str(version))}, now)


def record_models(
    spark, lake: str, versions: dict[dt.date, tuple[str, str]], now: dt.datetime
) -> None:
    rows = [(day, name, str(version), now) for day, (name, version) in sorted(versions.items())]
    df = spark.createDataFrame(rows, tables.MODEL_DAYS.schema)
    delta_io.replace_partitions(df, tables.MODEL_DAYS, lake, score_date=sorted(versions))


def scorer(lake: str, version: str | None):
    """Who scores a day: the version that scored it before (a re-run), else the champion, else
    the label-free scorer."""
    from models import label_free
    from models.scoring import load_champion, load_version

    if version is not None:
        return (
            label_free.handle()
            if label_free.is_label_free(version)
            else load_version(lake, version)
        )
    try:
        return load_champion(lake)
    except NoChampion as exc:
        fallback = label_free.handle()
        # The stored table's own columns: a read fills the registry's missing ones with NULL.
        stored = _stored_feature_columns(lake)
        missing = [c for c in fallback.feature_names if c not in stored]
        if missing:  # nothing can score: "no champion yet" (exit 4), not a bad input
            raise NoChampion(
                f"{exc}; the label-free scorer cannot score either: the feature table lacks "
                f"{', '.join(missing[:5])} (`riskctl features` builds it)"
            ) from None
        log.info("no champion (%s): scoring with the label-free scorer", exc)
        return fallback


def _stored_feature_columns(lake: str) -> list[str]:
    spark = get_spark()
    table = ACCOUNT_FEATURES
    if not delta_io.exists(spark, table, lake):
        return []
    return spark.read.format("delta").load(table.uri(lake)).columns


def score_day(lake: str, day: dt.date, handle=None, rescore: bool = False) -> dict:
    """Score one day and publish both gold tables (see `score_days`)."""
    if handle is not None:
        return publish(lake, {day: handle})
    return score_days(lake, [day], rescore=rescore)


def score_days(lake: str, days: list[dt.date], rescore: bool = False) -> dict:
    """Score the days and publish both gold tables. Returns counts for the log and tests.

    Each day is scored by the version recorded for it (a re-run never changes a day's scores),
    else by the current champion, else, before any champion exists, by the label-free scorer
    (models.label_free: its model_name and model_version mark the rows, and a re-run of such a
    day uses it again). `rescore` uses the current champion even on a day another version
    scored: after `riskctl rollback` or `riskctl promote`, the operator re-publishes the days the
    replaced model served. Raises ModelFeatureMismatch before writing anything when a model's
    features are gone.
    """
    spark = get_spark()
    days = sorted(set(days))
    recorded = {} if rescore else recorded_models(spark, lake, days)
    handles: dict[str | None, object] = {}

    def handle_for(version: str | None):
        if version not in handles:
            handles[version] = scorer(lake, version)
        return handles[version]

    return publish(lake, {day: handle_for(recorded.get(day)) for day in days})


def publish(lake: str, handles: dict) -> dict:
    """Score each day with its model (`handles`: {day: loaded model}), all days of one model in
    one pass, and write staging, both gold tables and the day-to-model record once each."""
    from pyspark.sql import functions as F

    from models import gold

    started = time.monotonic()
    spark = get_spark()
    days = sorted(handles)
    feats_table = ACCOUNT_FEATURES
    if not delta_io.exists(spark, feats_table, lake):
        raise PipelineError(
            f"no feature table under {lake}: build the features of {days[0]} first "
            f"(`riskctl features --lake {lake} --start {days[0]}`, or `riskctl run`)"
        )
    features = delta_io.read(spark, feats_table, lake)
    for handle in {(h.name, str(h.version)): h for h in handles.values()}.values():
        missing = [c for c in handle.feature_names if c not in features.columns]
        if missing:
            raise ModelFeatureMismatch(
                f"model {handle.name} v{handle.version} needs features missing from "
                f"{feats_table.name}: {', '.join(missing[:10])}; retrain "
                f"(`riskctl train --as-of {days[-1]} --promote`) or roll back "
                "(`riskctl rollback`)"
            )
    clusters = delta_io.read(spark, ACCOUNT_CLUSTERS_MAP, lake).where(
        F.col("feature_date").isin(days)
    )
    # One wall-clock stamp per run: `scored_at` is the only place the clock enters.
    scored_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    parts = []
    by_model: dict[tuple[str, str], tuple[object, list[dt.date]]] = {}
    for day in days:
        h = handles[day]
        by_model.setdefault((h.name, str(h.version)), (h, []))[1].append(day)
    for handle, model_days in by_model.values():
        feats = features.where(F.col("feature_date").isin(model_days))
        scores = handle.score(feats, keys=("feature_date", "account_id"))
        parts.append(
            gold.attach_clusters(scores, clusters, feats, keys=("feature_date", "account_id"))
            .withColumnRenamed("feature_date", "score_date")
            .withColumn("model_name", F.lit(handle.name))
            .withColumn("model_version", F.lit(str(handle.version)))
            .withColumn("scored_at", F.lit(scored_at).cast("timestamp"))
        )
    staged = parts[0]
    for part in parts[1:]:
        staged = staged.unionByName(part)
    delta_io.replace_partitions(staged, tables.SCORES_STAGING, lake, score_date=days)

    staged = delta_io.read(spark, tables.SCORES_STAGING, lake).where(F.col("score_date").isin(days))
    delta_io.replace_partitions(
        gold.account_scores(staged), tables.ACCOUNT_SCORES, lake, score_date=days
    )
    n_scores = _written_rows(spark, tables.ACCOUNT_SCORES, lake)
    delta_io.replace_partitions(
        gold.account_clusters(staged), tables.ACCOUNT_CLUSTERS, lake, score_date=days
    )
    n_clusters = _written_rows(spark, tables.ACCOUNT_CLUSTERS, lake)
    record_models(spark, lake, {d: (h.name, str(h.version)) for d, h in handles.items()}, scored_at)

    versions = sorted({str(h.version) for h in handles.values()})
    label = f"{days[0]}..{days[-1]}" if len(days) > 1 else str(days[0])
    result = {
        "days": [d.isoformat() for d in days],
        "accounts": n_scores,
        "clusters": n_clusters,
        "model_versions": versions,
        "secs": round(time.monotonic() - started, 1),
    }
    log.info(
        "scored days=%s accounts=%d clusters=%d model=%s v%s secs=%.1f",
        label,
        n_scores,
        n_clusters,
        handles[days[0]].name,
        ",".join(versions),
        result["secs"],
    )
    return result


def _written_rows(spark, table, lake: str) -> int:
    """Rows the last commit wrote (Delta operation metrics; no re-read of the data)."""
    from delta.tables import DeltaTable

    row = DeltaTable.forPath(spark, table.uri(lake)).history(1).collect()[0]
    return int((row["operationMetrics"] or {}).get("numOutputRows", 0))
