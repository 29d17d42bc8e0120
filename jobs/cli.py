"""`riskctl`: run the pipeline's jobs by hand, exactly as the Airflow DAGs run them.

Each subcommand parses and checks its arguments, then calls one job function. Errors an
operator can fix are printed as one line on stderr with a non-zero exit, never a traceback.
This file is also the application spark-submit runs (`spark-submit jobs/cli.py ingest ...`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys

from core.settings import ConfigError, configure, ensure_lake, resolve_lake

EXIT_USAGE = 2
EXIT_FAILED = 1


class UsageError(Exception):
    """Bad arguments: one clear line and exit code 2."""


def parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _range(args: argparse.Namespace) -> tuple[dt.date, dt.date]:
    start, end = args.start, args.end or args.start
    if end < start:
        raise UsageError(f"--end {end} is before --start {start}")
    return start, end


def _lake(args: argparse.Namespace, create: bool = True, writable: bool = True) -> str:
    return ensure_lake(resolve_lake(args.lake), create=create, writable=writable)


def _days(args: argparse.Namespace) -> list[dt.date]:
    start, end = _range(args)
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


# --- subcommands -------------------------------------------------------------------------------

def cmd_generate(args: argparse.Namespace) -> int:
    from simulator import generate

    if args.days < 1:
        raise UsageError("--days must be at least 1")
    try:
        summary = generate(_lake(args), args.start, args.days, args.scale, args.seed,
                           progress=not args.quiet, overwrite=args.overwrite)
    except FileExistsError as exc:
        raise ConfigError(f"{exc} (use another --lake, or --overwrite to replace it)") from None
    print(summary.get("message", summary) if isinstance(summary, dict) else summary)
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from jobs.ingest import ingest_days

    ingest_days(_lake(args), _days(args))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from jobs.validate import validate_days

    return 0 if validate_days(_lake(args, create=False), _days(args)) else EXIT_FAILED


def cmd_features(args: argparse.Namespace) -> int:
    from jobs.build_features import build_features

    build_features(_lake(args, create=False), _days(args))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from jobs.train import train

    train(_lake(args, create=False), args.as_of, promote=args.promote)
    return 0


def cmd_train_if_due(args: argparse.Namespace) -> int:
    from jobs.train import train_if_due

    for day in _days(args):
        train_if_due(_lake(args, create=False), day)
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    from jobs.train import promote

    promote(_lake(args, create=False), version=args.version)
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from jobs.train import rollback

    rollback(_lake(args, create=False))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from jobs.evaluate import evaluate

    evaluate(_lake(args, create=False), start=args.start, end=args.end)
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from jobs.score import score_days

    score_days(_lake(args, create=False), _days(args), rescore=args.rescore)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    days, lake = _days(args), _lake(args)  # argument errors before any heavy import
    configure(spark_master=args.master)
    from jobs.run import run_days

    return run_days(lake, days)


def cmd_sql(args: argparse.Namespace) -> int:
    from jobs.sql import run_query

    # Analysts may only have read access to the lake: reading needs no write permission.
    run_query(_lake(args, create=False, writable=False), args.query, limit=args.limit)
    return 0


def cmd_sql_server(args: argparse.Namespace) -> int:
    from jobs.sql_server import serve

    return serve(_lake(args, create=False, writable=False), port=args.port)


def cmd_report(args: argparse.Namespace) -> int:
    from jobs.report import build_report

    path = build_report(_lake(args, create=False), args.date)
    print(path)
    if not args.no_open:
        import webbrowser

        webbrowser.open(f"file://{path}")
    return 0


def cmd_maintain(args: argparse.Namespace) -> int:
    from jobs.maintenance import maintain

    maintain(_lake(args, create=False), retention_hours=args.retention_hours)
    return 0


# --- parser ------------------------------------------------------------------------------------

def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lake", help="lake root (default: $RISK_LAKE or ./lake)")


def _day_range(p: argparse.ArgumentParser, end_required: bool = False) -> None:
    p.add_argument("--start", type=parse_date, required=True, help="first day, YYYY-MM-DD")
    p.add_argument("--end", type=parse_date, required=end_required,
                   help="last day, inclusive (default: --start)")


class OneLineParser(argparse.ArgumentParser):
    """Argument errors as one line on stderr (no usage dump), exit code 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="riskctl",
        description="Find distillation campaigns in an LLM API's logs: raw zone -> Delta "
        "features -> MLflow model -> daily gold risk tables. Every command takes --lake.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=OneLineParser)

    p = sub.add_parser("run", help="the daily pipeline for a range of days, end to end",
                       description="For each day in order, as the daily DAG would: ingest "
                       "what landed, validate, build features, train and promote a model when "
                       "the retraining policy says so, and publish both gold tables. A day "
                       "with no champion model yet publishes no scores. Re-running a day "
                       "replaces that day's outputs.")
    _common(p)
    _day_range(p, end_required=True)
    p.add_argument("--master", help="Spark master, e.g. spark://host:7077 (default local[*])")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("generate", help="write a synthetic raw zone with ground truth",
                       description="Write <lake>/raw/* as the upstream systems would, and the "
                       "ground truth under <lake>/_truth (the pipeline never reads it).")
    _common(p)
    p.add_argument("--start", type=parse_date, default=dt.date(2026, 4, 22))
    p.add_argument("--days", type=int, default=45)
    p.add_argument("--scale", choices=["tiny", "small", "medium", "seed"], default="small")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing raw zone and truth in the lake")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("ingest", help="raw zone -> clean Delta tables, quarantine and audit",
                       description="Parse each landed day's raw files, quarantine broken lines "
                       "with a reason, drop duplicates, and write ops/ingest_audit.")
    _common(p)
    _day_range(p)
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("validate", help="Great Expectations gate on the clean tables",
                       description="Run the expectation suites for the days; exit 1 and name "
                       "the failed expectations when a blocking one fails.")
    _common(p)
    _day_range(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("features", help="per-account daily features and clusters")
    _common(p)
    _day_range(p)
    p.set_defaults(func=cmd_features)

    p = sub.add_parser("train", help="train a model as of a day and register it (challenger)")
    _common(p)
    p.add_argument("--as-of", type=parse_date, required=True, dest="as_of")
    p.add_argument("--promote", action="store_true",
                   help="promote to champion if it beats the current one")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("train-if-due", help="apply the retraining policy for days",
                       description="Train, register and promote a model on the days the "
                       "retraining policy names (first model once enough labels are known, "
                       "then Mondays, and on drift); reuse the model of a day already trained.")
    _common(p)
    _day_range(p)
    p.set_defaults(func=cmd_train_if_due)

    p = sub.add_parser("promote", help="make the challenger (or --version) the champion")
    _common(p)
    p.add_argument("--version", help="model version to promote (default: the challenger)")
    p.set_defaults(func=cmd_promote)

    p = sub.add_parser("rollback", help="give the champion alias back to the previous champion")
    _common(p)
    p.set_defaults(func=cmd_rollback)

    p = sub.add_parser("evaluate", help="metrics against the generator's ground truth")
    _common(p)
    p.add_argument("--start", type=parse_date)
    p.add_argument("--end", type=parse_date)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("score", help="score days with the champion and publish gold tables")
    _common(p)
    _day_range(p)
    p.add_argument("--rescore", action="store_true",
                   help="use the current champion even on days another version already scored "
                        "(after rollback or promote); without it a re-run keeps the day's "
                        "version")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("sql", help="run one SQL query over the risk.* tables")
    _common(p)
    p.add_argument("query")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser("sql-server", help="read-only JDBC/Thrift SQL endpoint for analysts")
    _common(p)
    p.add_argument("--port", type=int, default=10000)
    p.set_defaults(func=cmd_sql_server)

    p = sub.add_parser("report", help="build the daily HTML report")
    _common(p)
    p.add_argument("--date", type=parse_date, required=True)
    p.add_argument("--no-open", action="store_true")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("maintain", help="OPTIMIZE and VACUUM the lake's tables")
    _common(p)
    p.add_argument("--retention-hours", type=int, default=168)
    p.set_defaults(func=cmd_maintain)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("py4j", "urllib3", "alembic", "great_expectations"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"riskctl {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as exc:
        print(f"riskctl {args.command}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(f"riskctl {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a job's own error class carries an operator-facing message
        if getattr(exc, "operator_message", None):
            print(f"riskctl {args.command}: {exc.operator_message}", file=sys.stderr)
            return EXIT_FAILED
        raise


if __name__ == "__main__":
    sys.exit(main())
