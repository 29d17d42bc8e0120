"""`make demo`: a generated lake, the whole pipeline over it, the last day's report, next steps.

    python -m tools.demo --lake DIR [--scale tiny] [--days 14]

Generates the raw zone only when `<lake>/raw` is empty (14 `tiny` days from 2026-04-22, seed 7:
the first model trains on day 9 and the Monday retrain falls on day 13), so
running the demo again reuses the lake and re-runs every day idempotently (each job replaces its
day's slice). Ends by building the last day's HTML report and printing where it is, what it
shows, and the next commands for analysts, ML engineers and data engineers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import time
from pathlib import Path

from core.settings import settings

START = dt.date(2026, 4, 22)
# A short default so that a first `make demo` ends in minutes; `small`/45 days is an option.
DAYS = 14
SEED = 7
SCALES = ("tiny", "small", "medium", "seed")

log = logging.getLogger("risk.demo")


class DemoError(Exception):
    """Printed as one line; the demo exits 1."""


def raw_is_empty(lake: str) -> bool:
    raw = Path(lake) / "raw"
    return not raw.is_dir() or not any(p.is_file() for p in raw.rglob("*"))


def landed_days(lake: str) -> list[dt.date]:
    """Every day from the first to the last `date=` folder of the raw zone (in order)."""
    from core.tables import RAW_SOURCES

    found: set[dt.date] = set()
    for source in RAW_SOURCES:
        for folder in (Path(lake) / "raw" / source).glob("date=*"):
            try:
                found.add(dt.date.fromisoformat(folder.name.removeprefix("date=")))
            except ValueError:
                continue  # the pipeline skips it with a warning too
    if not found:
        raise DemoError(f"no date= folders under {lake}/raw: nothing to run")
    first, last = min(found), max(found)
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.demo", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--lake", help="lake root (default: $RISK_LAKE or ./lake)")
    parser.add_argument("--scale", choices=SCALES, default="tiny")
    parser.add_argument("--days", type=int, default=DAYS, help="days to generate (new lake only)")
    parser.add_argument("--start", type=dt.date.fromisoformat, default=START)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    for noisy in ("py4j", "urllib3", "alembic", "great_expectations", "mlflow"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return run(args)
    except DemoError as exc:
        print(f"make demo: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        from core.settings import ConfigError

        if isinstance(exc, ConfigError) or getattr(exc, "operator_message", None):
            print(f"make demo: {getattr(exc, 'operator_message', exc)}", file=sys.stderr)
            return 1
        raise


def run(args: argparse.Namespace) -> int:
    from core.settings import ensure_lake, resolve_lake

    lake = ensure_lake(resolve_lake(args.lake))
    started = time.monotonic()

    if raw_is_empty(lake):
        from simulator import generate

        print(
            f"Generating a {args.scale} lake in {lake}: {args.days} days from {args.start}, "
            f"seed {args.seed} ...",
            flush=True,
        )
        generate(lake, args.start, args.days, args.scale, args.seed, progress=True)
    else:
        print(
            f"Reusing the raw zone in {lake} (delete {lake}/raw to generate a new one); "
            "re-running every day replaces that day's outputs.",
            flush=True,
        )
    days = landed_days(lake)

    from jobs.run import run_days

    print(f"Running the pipeline over {len(days)} days, {days[0]}..{days[-1]} ...", flush=True)
    code = run_days(lake, days)
    if code:
        raise DemoError(f"`riskctl run` stopped with exit code {code} (see the log above)")

    from jobs.report import build_report_with_summary

    last = days[-1]
    path, summary = build_report_with_summary(lake, last)
    print(describe(lake, last, path, summary, time.monotonic() - started))
    return 0


def _n(value: object) -> str:
    return "n/a" if value is None else f"{value:,}" if isinstance(value, int) else str(value)


def describe(lake: str, day: dt.date, path: str, s: dict, secs: float) -> str:
    """What the demo printed at the end: the report, what it shows, what to do next."""
    venv = ".venv/bin"
    mlflow_uri = settings().mlflow_tracking_uri or f"sqlite:///{lake}/_mlflow/mlflow.db"
    top = s.get("top_cluster")
    top_line = (
        f"  Top cluster {top['cluster_id']}: {top['n_accounts']} accounts, "
        f"{top['n_high_risk']} high-risk, tied by {', '.join(top['link_types']) or '-'}"
        if top
        else "  No linked clusters that day."
    )
    drift = {None: "not computed", True: "retraining flagged", False: "stable"}[
        s.get("drift_retrain")
    ]
    d = day.isoformat()
    return "\n".join(
        [
            "",
            f"Demo finished in {secs / 60:.1f} min. Report for {d}:",
            f"  {path}",
            f"  (open file://{path} in a browser; it is one self-contained file)",
            "",
            "What it shows:",
            f"  {_n(s['accounts_scored'])} accounts scored: {_n(s['critical'])} critical, "
            f"{_n(s['high'])} high; new since the day before: {_n(s['new_critical'])} critical, "
            f"{_n(s['new_high_or_critical'])} high or critical.",
            f"  {_n(s['clusters'])} linked clusters ({_n(s['clusters_with_high_risk'])} with a "
            "high-risk member), their growth over 7 days and what ties them.",
            top_line,
            "  The score distribution, the riskiest accounts with their reasons, model "
            f"{s.get('model_name')} v{s.get('model_version')} with its validation metrics, "
            f"data quality ({s.get('quality_status')}) and drift ({drift}).",
            "",
            "Next, for analysts (SQL over the gold tables):",
            f'  {venv}/riskctl sql --lake {lake} "SELECT account_id, risk_score, risk_band, '
            f"reasons FROM risk.account_scores_daily WHERE score_date = DATE'{d}' "
            'ORDER BY risk_score DESC LIMIT 20"',
            f'  {venv}/riskctl sql --lake {lake} "SELECT cluster_id, n_accounts, n_high_risk, '
            f"link_types FROM risk.account_clusters_daily WHERE score_date = DATE'{d}' "
            'ORDER BY n_high_risk DESC LIMIT 10"',
            f"  {venv}/riskctl sql-server --lake {lake}    # read-only JDBC, then: "
            "beeline -u jdbc:hive2://localhost:10000/risk",
            f"  {venv}/riskctl report --lake {lake} --date {d}",
            "Next, for ML engineers (models, metrics, drift):",
            f"  {venv}/mlflow ui --backend-store-uri {mlflow_uri}",
            f"  {venv}/riskctl evaluate --lake {lake}",
            f'  {venv}/riskctl sql --lake {lake} "SELECT * FROM risk.drift_daily '
            f"WHERE score_date = DATE'{d}' ORDER BY psi DESC\"",
            "Next, for data engineers (scheduling, re-runs):",
            "  make airflow    # Airflow standalone with the project's DAGs; see docs/AIRFLOW.md",
            f"  {venv}/riskctl run --lake {lake} --start {d} --end {d}    # re-run a day: "
            "replaces it",
            "",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
