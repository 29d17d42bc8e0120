"""The training set: account-days with point-in-time labels, split in time and by account.

Choices (documented here because they decide what the model learns):

- Label cutoff = the as-of day D. A row's label is the account's label as known at the end of D
  (`models.labels.labels_as_of`): a decision taken after D, or landed after D, never reaches any
  row. Rows of a positive account are used only from days strictly *before* the decision day:
  its behaviour before anyone judged it, and never a day whose features could already reflect
  the decision (cluster features count members already known bad).
- Negatives are accounts with no distillation label in force as of D (never labelled, or
  labelled and reinstated: a reinstatement is a judged legitimate account). Accounts under a
  ban/suspend for another reason (payment fraud, other abuse) are neither: dropped.
- Maturity: labels come days to weeks after the behaviour, so an unlabelled account seen only
  in the last days is not yet a confident negative. Rows of the last `maturity_days` days before
  D are not used at all (for both classes, so that recency cannot separate them).
- Young accounts are not training negatives: an unlabelled account younger than
  `min_negative_age_days` (its `account_age_days` on the row's day) has not lived long enough to
  be judged, and operators replace banned accounts with fresh ones, so the young unlabelled
  accounts are where the campaigns nobody labelled yet sit. Training on them as negatives
  teaches the model that an unlabelled strategy is legitimate (on a generated medium lake, a
  never-labelled campaign's recall at 1% FPR was 0.07 with them and 0.89 without;
  `docs/MODEL.md`). They stay in validation, in the bands' FPR estimate and in scoring; an
  account of unknown age (no registry row) is kept as a negative. Except: a young account-day
  whose label-free `harvest_score` is below `young_negative_max_harvest_score` (0.2) is a
  negative. With no young negative at all the model read every young cohort as a campaign: on
  a held-out tiny lake 27.5% of university-class accounts (a class signs up together, shares
  its assignments' prompts and a campus network) reached `high`. There, young rows of
  campaigns scored below 0.2 in about 6% of cases, young university rows in two thirds.
- Time split with a gap: validation = the last `val_days` eligible days, training = the days
  before them minus `gap_days` (shrunk on short histories so that each side keeps a third of the
  eligible days at least). Validation accounts never appear in training: accounts are assigned
  to the validation group by a seeded hash of their id (`val_fraction`); training uses only the
  other group's rows, validation only this group's rows.
- Reliable negatives: an unlabelled account-day whose label-free `harvest_score` is at least
  `negative_max_harvest_score` (0.5) is not a training negative either: old bought accounts
  and campaigns nobody labelled look like harvesting without any label, and teaching the model
  that they are legitimate is what made it blind to them. They stay in validation and scoring.
- Label extension: an unlabelled account in a linked-account cluster where, as of its latest
  row, at least `extend_min_known_bad` other members are labelled and they are at least
  `extend_min_known_bad_share` of the others, is a positive too (all its rows up to D): one
  operator's accounts are banned in waves, and the ones a wave missed are the same campaign.
  A cluster where labels are a minority (a reseller's customers with a few operators among
  them) extends nothing. The count is logged with the run (`n_extended_positive_accounts`).
- Negatives are many and alike from day to day: each negative account contributes one row per
  `negative_stride_days` (a deterministic, hash-phased weekly sample) to training; positives keep
  every eligible row. Validation keeps every row (per-day precision@k needs each day).

Pure: DataFrames and days in, DataFrames out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

DAY0 = dt.date(1970, 1, 1)
# The feature that says how long an account has existed (days, as of the row's day).
AGE_COLUMN = "account_age_days"
# The label-free score (features/harvest_score.py): evidence of harvesting without any label.
HARVEST_COLUMN = "harvest_score"


@dataclass(frozen=True)
class SplitConfig:
    maturity_days: int = 3
    val_days: int = 7
    gap_days: int = 1
    lookback_days: int = 63
    val_fraction: float = 0.3
    negative_stride_days: int = 7
    min_negative_age_days: int = 30  # 0 keeps every unlabelled account as a negative
    seed: int = 7
    # Label extension: an unlabelled account whose linked-account cluster, on its latest row up
    # to the training day, has at least `extend_min_known_bad` other members labelled and a
    # labelled share of at least `extend_min_known_bad_share` is a positive too (0 disables).
    extend_min_known_bad: int = 3
    extend_min_known_bad_share: float = 0.5
    # Reliable negatives: an unlabelled row whose label-free harvest_score is at least this is
    # not a training negative (it stays in validation and scoring); 1.0 disables.
    negative_max_harvest_score: float = 0.5
    # ...except a young one whose harvest_score is below this: a young account that looks
    # nothing like harvesting is a fair negative, and without them the model never sees a
    # young legitimate cohort (a university class that signed up together shares its
    # assignments' prompts and a campus network) and reads every young group as a campaign.
    # NULL harvest keeps a young account out; 0.0 disables.
    young_negative_max_harvest_score: float = 0.2

    def as_params(self) -> dict[str, object]:
        return {f"split_{k}": v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class SplitBounds:
    """Inclusive day ranges of one training set (all derived from D and the first feature day)."""

    as_of: dt.date
    label_cutoff: dt.date
    first_day: dt.date
    train_start: dt.date
    train_end: dt.date
    val_start: dt.date
    val_end: dt.date

    def as_params(self) -> dict[str, str]:
        return {k: v.isoformat() for k, v in asdict(self).items()}


class EmptySplit(ValueError):
    """The eligible history is too short for a training window, a gap and a validation window."""


def split_bounds(as_of: dt.date, first_feature_day: dt.date, cfg: SplitConfig) -> SplitBounds:
    """Train/validation windows for a model trained as of `as_of`.

    `first_feature_day` is the first day with feature rows (the lake's history may be short
    when the first model is trained): the windows shrink so that validation is at most a third
    of the eligible days, but the gap always stays.
    """
    eligible_end = as_of - dt.timedelta(days=cfg.maturity_days)
    start = max(first_feature_day, as_of - dt.timedelta(days=cfg.lookback_days - 1))
    n_days = (eligible_end - start).days + 1
    val_days = min(cfg.val_days, (n_days - cfg.gap_days) // 3)
    if val_days < 1:
        raise EmptySplit(
            f"only {max(n_days, 0)} eligible feature days between {start} and {eligible_end}: "
            f"need at least {cfg.gap_days + 3} for training, a {cfg.gap_days}-day gap and "
            "validation"
        )
    val_start = eligible_end - dt.timedelta(days=val_days - 1)
    train_end = val_start - dt.timedelta(days=cfg.gap_days + 1)
    return SplitBounds(as_of, as_of, first_feature_day, start, train_end, val_start, eligible_end)


def in_validation_group(account_id, cfg: SplitConfig):
    """True for the accounts whose rows go to validation (never to training)."""
    return _bucket(account_id, cfg.seed, 1000) < F.lit(int(round(cfg.val_fraction * 1000)))


def _bucket(account_id, seed: int, modulo: int):
    """A stable pseudo-random bucket in [0, modulo) from the account id (xxhash64, seeded)."""
    return F.pmod(F.xxhash64(F.lit(f"split-{seed}"), account_id), F.lit(modulo))


EXTENSION_COLUMNS = ("cluster_id", "cluster_known_bad_others", "cluster_known_bad_share")


def extended_positives(
    features: DataFrame, labels: DataFrame, bounds: SplitBounds, cfg: SplitConfig
) -> DataFrame | None:
    """account_id, _extended_key: unlabelled accounts taken as positives by label extension.

    The evidence is the account's latest feature row up to the training day (its cluster's
    labelled members as of that row's day, never later), so the extension is point-in-time
    like the labels. An account with any label (positive, reinstated, other enforcement) is
    never extended. `_extended_key` is the cluster, prefixed, so an extended account and the
    labelled ones of its cluster count as one case. None when disabled or the feature table
    has no cluster columns.
    """
    if cfg.extend_min_known_bad <= 0 or not set(EXTENSION_COLUMNS) <= set(features.columns):
        return None
    from pyspark.sql import Window

    latest = Window.partitionBy("account_id").orderBy(F.desc("feature_date"))
    last = (
        features.where(
            (F.col("feature_date") >= F.lit(bounds.train_start))
            & (F.col("feature_date") <= F.lit(bounds.as_of))
        )
        .select("account_id", "feature_date", *EXTENSION_COLUMNS)
        .withColumn("_r", F.row_number().over(latest))
        .where(F.col("_r") == 1)
    )
    strong = (F.col("cluster_known_bad_others") >= F.lit(cfg.extend_min_known_bad)) & (
        F.col("cluster_known_bad_share") >= F.lit(cfg.extend_min_known_bad_share)
    )
    return (
        last.where(strong)
        .join(labels.select("account_id"), "account_id", "left_anti")
        .select(
            "account_id", F.concat(F.lit("cluster:"), F.col("cluster_id")).alias("_extended_key")
        )
    )


def assemble(
    features: DataFrame,
    labels: DataFrame,
    bounds: SplitBounds,
    feature_names: Sequence[str],
    cfg: SplitConfig,
    carry: Sequence[str] = (),
) -> DataFrame:
    """Training and validation rows: account_id, feature_date, label, cluster_key, split, features.

    `labels` is `labels_as_of(enforcement, bounds.label_cutoff)`; `features` has one row per
    (account_id, feature_date). Only rows inside the windows of `bounds` come out. `carry`:
    further feature-table columns to bring along (baseline inputs), not model inputs.
    """
    carry = [c for c in carry if c not in feature_names]
    age = (
        F.col(AGE_COLUMN).cast("double")
        if AGE_COLUMN in features.columns
        else F.lit(None).cast("double")
    )
    harvest = (
        F.col(HARVEST_COLUMN).cast("double")
        if HARVEST_COLUMN in features.columns
        else F.lit(None).cast("double")
    )
    lab = labels.select(
        "account_id", "is_positive", "positive_date", "cluster_key", "other_enforcement"
    )
    feats = features.where(
        (F.col("feature_date") >= F.lit(bounds.train_start))
        & (F.col("feature_date") <= F.lit(bounds.val_end))
    ).select(
        "account_id",
        "feature_date",
        *[F.col(n).cast("double").alias(n) for n in feature_names],
        *carry,
        age.alias("_age"),
        harvest.alias("_harvest"),
    )
    rows = feats.join(lab, "account_id", "left")
    extended = extended_positives(features, labels, bounds, cfg)
    if extended is not None:
        rows = (
            rows.join(extended.withColumn("_extended", F.lit(True)), "account_id", "left")
            .withColumn("is_positive", F.col("is_positive") | F.coalesce("_extended", F.lit(False)))
            .withColumn(
                "positive_date",
                F.coalesce(
                    "positive_date",
                    F.when(F.col("_extended"), F.lit(bounds.as_of + dt.timedelta(days=1))),
                ),
            )
            .withColumn(
                "cluster_key",
                F.coalesce("cluster_key", F.when(F.col("_extended"), F.col("_extended_key"))),
            )
        )
    positive = F.coalesce(F.col("is_positive"), F.lit(False))
    other = F.coalesce(F.col("other_enforcement"), F.lit(False))
    rows = rows.where(~other & (~positive | (F.col("feature_date") < F.col("positive_date"))))
    in_val_group = in_validation_group(F.col("account_id"), cfg)
    day_no = F.datediff(F.col("feature_date"), F.lit(DAY0))
    stride = max(1, cfg.negative_stride_days)
    sampled = positive | (
        F.pmod(day_no + _bucket(F.col("account_id"), cfg.seed + 1, stride), F.lit(stride)) == 0
    )
    # Unknown age (NULL) counts as old enough: no registry row is no evidence of youth.
    old_enough = F.coalesce(F.col("_age") >= F.lit(cfg.min_negative_age_days), F.lit(True))
    young_clean = F.coalesce(
        F.col("_harvest") < F.lit(cfg.young_negative_max_harvest_score), F.lit(False)
    )
    judged = positive | (
        (old_enough | young_clean)
        & F.coalesce(F.col("_harvest") < F.lit(cfg.negative_max_harvest_score), F.lit(True))
    )
    is_train = ~in_val_group & (F.col("feature_date") <= F.lit(bounds.train_end)) & sampled & judged
    is_val = in_val_group & (F.col("feature_date") >= F.lit(bounds.val_start))
    out = rows.select(
        "account_id",
        "feature_date",
        positive.cast("int").alias("label"),
        F.when(positive, F.col("cluster_key")).alias("cluster_key"),
        F.when(is_train, F.lit("train")).when(is_val, F.lit("val")).alias("split"),
        *feature_names,
        *carry,
    ).where(F.col("split").isNotNull())
    # No global sort here (a costly extra job): `models.training.fit` partitions by account and
    # sorts inside each partition, which is what makes training deterministic.
    return out
