"""Great Expectations suites for the clean tables, and a small runner any job can reuse.

A suite is a list of `Check`s: a GX expectation with GX's own `severity` and `description`
(what Data Docs show beside each result). Blocking checks (GX severity `critical`) are
contract-level (keys present and unique, allowed values, ranges, formats) and stop the day;
warning checks (GX `warning`: volume against the trailing week, freshness) are recorded and
logged only.

Costs: each expectation is one or more Spark jobs, so suites stay focused and run on a cached
frame holding only the columns they look at. Row-level quarantine happens at ingest, in Spark;
GX is the gate and, through its Data Docs, what people read.

Privacy: suites only ever see silver tables (no raw IP, no email domain), and results are kept
as pass/fail (`BOOLEAN_ONLY`), so neither the stored results nor Data Docs list row values.
"""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from core.settings import export_default

export_default("GX_ANALYTICS_ENABLED", "False")  # no network from a batch job

log = logging.getLogger("risk.validate")

BLOCKING = "blocking"
WARNING = "warning"
# Our words (ops/validation_results.severity) -> GX's FailureSeverity values, and back.
GX_SEVERITY = {BLOCKING: "critical", WARNING: "warning"}
FROM_GX_SEVERITY = {v: k for k, v in GX_SEVERITY.items()}
# Pass/fail only. Privacy: no value of any row can reach results or Data Docs. Cost: SUMMARY
# (even with partial_unexpected_count 0) adds one Spark collect per column expectation to fetch
# unexpected values; BOOLEAN_ONLY computes just the unexpected counts, bundled per table.
RESULT_FORMAT = {"result_format": "BOOLEAN_ONLY"}
DOCS_SITE = "lake_site"
VOLUME_LOW, VOLUME_HIGH = 0.2, 5.0  # row count bounds, as multiples of the trailing mean
_OBSERVED_KEYS = (
    "observed_value",
    "element_count",
    "unexpected_count",
    "unexpected_percent",
    "missing_count",
)


@dataclass(frozen=True)
class Check:
    """One expectation, whether its failure blocks the day, and what it means in words.

    The severity and the description are set on the GX expectation itself (its `severity` and
    `description` fields), so the stored suite, its results and Data Docs all carry them.
    """

    expectation: Any  # a great_expectations.expectations.Expectation
    severity: str = BLOCKING
    name: str = ""  # defaults to `type(columns)`; must be unique within a suite
    description: str = ""

    def __post_init__(self) -> None:
        if self.severity not in GX_SEVERITY:
            raise ValueError(f"severity {self.severity!r} is not one of {sorted(GX_SEVERITY)}")
        self.expectation.severity = GX_SEVERITY[self.severity]
        if self.description:
            self.expectation.description = self.description

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        kwargs = self.expectation.configuration.kwargs
        cols = (
            kwargs.get("column")
            or kwargs.get("column_list")
            or [kwargs.get("column_A"), kwargs.get("column_B")]
        )
        cols = [cols] if isinstance(cols, str) else [c for c in cols if c]
        return f"{self.expectation.expectation_type}({', '.join(cols)})"

    @property
    def columns(self) -> list[str]:
        kwargs = self.expectation.configuration.kwargs
        out = [kwargs.get(k) for k in ("column", "column_A", "column_B")]
        return [c for c in out + list(kwargs.get("column_list") or []) if c]


@dataclass
class CheckResult:
    name: str
    severity: str
    success: bool
    observed: dict = field(default_factory=dict)

    @property
    def observed_json(self) -> str:
        return json.dumps(self.observed, sort_keys=True, default=str)


def _gx():
    import great_expectations as gx

    return gx


def not_null(*columns: str) -> list[Check]:
    E = _gx().expectations  # noqa: N806 - GX's own module alias
    return [
        Check(
            E.ExpectColumnValuesToNotBeNull(column=c),
            description=f"`{c}` is set on every row (a required field of the contract)",
        )
        for c in columns
    ]


def in_set(
    column: str, values, severity: str = BLOCKING, name: str = "", description: str = ""
) -> Check:
    E = _gx().expectations  # noqa: N806
    shown = ", ".join(str(v) for v in sorted(values))
    return Check(
        E.ExpectColumnValuesToBeInSet(column=column, value_set=sorted(values)),
        severity,
        name,
        description or f"`{column}` takes only the contract's values: {shown}",
    )


def between(
    column: str,
    low=None,
    high=None,
    severity: str = BLOCKING,
    name: str = "",
    description: str = "",
) -> Check:
    E = _gx().expectations  # noqa: N806
    bounds = (
        f"between {low} and {high}"
        if low is not None and high is not None
        else f"at least {low}"
        if low is not None
        else f"at most {high}"
    )
    return Check(
        E.ExpectColumnValuesToBeBetween(column=column, min_value=low, max_value=high),
        severity,
        name,
        description or f"`{column}` is {bounds}",
    )


def unique(*columns: str) -> Check:
    E = _gx().expectations  # noqa: N806
    key = ", ".join(f"`{c}`" for c in columns)
    words = f"{key} identify a row: no two rows share them (deduplication kept one copy)"
    if len(columns) == 1:
        return Check(E.ExpectColumnValuesToBeUnique(column=columns[0]), description=words)
    return Check(E.ExpectCompoundColumnsToBeUnique(column_list=list(columns)), description=words)


def matches(
    column: str, regex: str, severity: str = BLOCKING, name: str = "", description: str = ""
) -> Check:
    E = _gx().expectations  # noqa: N806
    return Check(
        E.ExpectColumnValuesToMatchRegex(column=column, regex=regex),
        severity,
        name,
        description or f"`{column}` matches `{regex}`",
    )


def volume_checks(trailing_mean: float | None) -> list[Check]:
    """Warnings: the day has rows (freshness) and, with history, a plausible volume."""
    E = _gx().expectations  # noqa: N806
    checks = [
        Check(
            E.ExpectTableRowCountToBeBetween(min_value=1),
            WARNING,
            "freshness(rows>0)",
            "the landed day has rows at all (an empty day means upstream did not "
            "deliver); a warning, it does not block",
        )
    ]
    if trailing_mean:
        low, high = int(trailing_mean * VOLUME_LOW), int(trailing_mean * VOLUME_HIGH) + 1
        checks.append(
            Check(
                E.ExpectTableRowCountToBeBetween(min_value=low, max_value=high),
                WARNING,
                "volume(vs trailing 7-day mean)",
                f"the day's rows are within {VOLUME_LOW:g}x and {VOLUME_HIGH:g}x "
                "the mean of the 7 landed days before; a warning, it does not "
                "block",
            )
        )
    return checks


# A landed day whose lines are mostly quarantined is an upstream change (a renamed or retyped
# field, a new encoding), not bad luck: publishing the few survivors would look like a quiet day.
QUARANTINE_MAX_SHARE = 0.5
QUARANTINE_MIN_LINES = 20  # below this, a handful of broken lines is noise, not a pattern
QUARANTINE_CHECK = f"quarantine_share(<= {QUARANTINE_MAX_SHARE:.0%} of lines read)"


def quarantine_share_check(
    lines_read: int, quarantined: int, reasons: dict[str, int]
) -> CheckResult:
    """Blocking: at most QUARANTINE_MAX_SHARE of a landed day's lines may be quarantined.

    `reasons` (reason code -> lines) goes into the result so the gate message says what broke.
    """
    share = quarantined / lines_read if lines_read else 0.0
    ok = lines_read < QUARANTINE_MIN_LINES or share <= QUARANTINE_MAX_SHARE
    top = dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:3])
    return CheckResult(
        QUARANTINE_CHECK,
        BLOCKING,
        ok,
        {
            "lines_read": lines_read,
            "rows_quarantined": quarantined,
            "quarantined_share": round(share, 4),
            "top_reasons": top,
        },
    )


def silver_checks(source: str, trailing_mean: float | None = None) -> list[Check]:
    """The suite of one silver table's landed-day slice."""
    from quality import contract as c

    E = _gx().expectations  # noqa: N806
    lineage_order = Check(
        E.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="land_date", column_B="event_date", or_equal=True
        ),
        description="no row landed before the day it happened (`land_date` >= `event_date`)",
    )
    if source == "interactions":
        return [
            *not_null(
                "request_id",
                "ts",
                "account_id",
                "api_key_id",
                "model",
                "endpoint",
                "ip_hash",
                "input_tokens",
                "output_tokens",
                "prompt_simhash",
                "status",
                "event_date",
            ),
            unique("request_id"),
            in_set("endpoint", c.ENDPOINTS),
            in_set("status", c.STATUSES),
            in_set("ip_type", c.IP_TYPES),
            in_set("topic", c.TOPICS),
            between("input_tokens", 0),
            between("output_tokens", 0),
            between("cot_request_score", 0, 1),
            matches(
                "prompt_simhash",
                r"^[0-9a-f]{16}$",
                description="`prompt_simhash` is 16 lower-case hex digits",
            ),
            # A privacy guard as much as a format check: only a network prefix may be stored.
            matches(
                "ip_prefix",
                r"/(24|48)$",
                description="`ip_prefix` is a /24 (IPv4) or /48 (IPv6) network, never a "
                "full address (privacy)",
            ),
            lineage_order,
            *volume_checks(trailing_mean),
        ]
    if source == "accounts":
        return [
            *not_null(
                "account_id",
                "created_at",
                "updated_at",
                "signup_channel",
                "email_domain_hash",
                "tier",
                "verified",
            ),
            unique("account_id", "updated_at"),
            in_set("signup_channel", c.SIGNUP_CHANNELS),
            in_set("tier", c.TIERS),
            in_set("email_domain_class", c.EMAIL_DOMAIN_CLASSES),
            lineage_order,
        ]
    if source == "enforcement":
        return [
            *not_null("account_id", "decided_at", "action", "reason"),
            unique("account_id", "decided_at", "action"),
            in_set("action", c.ACTIONS),
            in_set("reason", c.ENFORCEMENT_REASONS),
            lineage_order,
        ]
    raise ValueError(f"no suite for source {source!r}")


class SuiteRunner:
    """Runs check lists on Spark DataFrames with GX and builds the Data Docs site.

    With `root` (a local directory, e.g. `<lake>/ops`) the GX project lives in `root/gx` and
    Data Docs in `root/data_docs`, so results of earlier days stay listed; without it an
    ephemeral context is used and no docs are written.
    """

    def __init__(self, root: str | None = None) -> None:
        gx = _gx()
        self.docs_dir = f"{root}/data_docs" if root else None
        if root:
            self.context = gx.get_context(mode="file", project_root_dir=f"{root}/gx")
            sites = self.context.get_config().data_docs_sites or {}
            if DOCS_SITE not in sites:
                for name in list(sites):  # the default site lives inside the GX project
                    self.context.delete_data_docs_site(name)
                self.context.add_data_docs_site(
                    DOCS_SITE,
                    {
                        "class_name": "SiteBuilder",
                        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                        "store_backend": {
                            "class_name": "TupleFilesystemStoreBackend",
                            "base_directory": self.docs_dir,
                        },
                    },
                )
        else:
            self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = {"globally": False, "metric_calculations": False}
        # We cache the frame ourselves (only the checked columns); GX must not persist it again.
        self.source = self.context.data_sources.add_or_update_spark(
            name="risk_spark", persist=False
        )

    def run(self, df, table_name: str, run_name: str, checks: list[Check]) -> list[CheckResult]:
        """Validate `df` against `checks` (suite named after the table); results in check order."""
        gx = _gx()
        from great_expectations.checkpoint import UpdateDataDocsAction
        from great_expectations.core.run_identifier import RunIdentifier

        labels = [c.label for c in checks]
        if len(set(labels)) != len(labels):
            raise ValueError(f"{table_name}: duplicate check names in {labels}")
        expectations = []
        for check in checks:
            exp = copy.deepcopy(check.expectation)
            exp.meta = {**(exp.meta or {}), "name": check.label}
            expectations.append(exp)
        suite = self.context.suites.add_or_update(
            gx.ExpectationSuite(name=table_name, expectations=expectations)
        )
        try:
            asset = self.source.get_asset(table_name)
        except LookupError:
            asset = self.source.add_dataframe_asset(name=table_name)
        try:
            batch_def = asset.get_batch_definition("whole")
        except (KeyError, LookupError):
            batch_def = asset.add_batch_definition_whole_dataframe("whole")
        definition = self.context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=table_name, data=batch_def, suite=suite)
        )
        actions = (
            [UpdateDataDocsAction(name="data_docs", site_names=[DOCS_SITE])]
            if self.docs_dir
            else []
        )
        checkpoint = self.context.checkpoints.add_or_update(
            gx.Checkpoint(
                name=table_name,
                validation_definitions=[definition],
                actions=actions,
                result_format=RESULT_FORMAT,
            )
        )
        result = checkpoint.run(
            batch_parameters={"dataframe": df}, run_id=RunIdentifier(run_name=run_name)
        )
        by_name: dict[str, CheckResult] = {}
        for validation in result.run_results.values():
            for r in validation.results:
                meta = r.expectation_config.meta or {}
                observed = {k: v for k, v in dict(r.result or {}).items() if k in _OBSERVED_KEYS}
                if r.exception_info and r.exception_info.get("raised_exception"):
                    observed["exception"] = str(r.exception_info.get("exception_message"))[:300]
                severity = FROM_GX_SEVERITY[
                    str(
                        getattr(
                            r.expectation_config.severity, "value", r.expectation_config.severity
                        )
                    )
                ]
                by_name[meta["name"]] = CheckResult(
                    meta["name"], severity, bool(r.success), observed
                )
        return [by_name[label] for label in labels]

    @property
    def docs_index(self) -> str | None:
        return f"{self.docs_dir}/index.html" if self.docs_dir else None
