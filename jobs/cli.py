"""`riskctl`: run the pipeline's jobs by hand, exactly as the Airflow DAGs run them.

Each subcommand parses and checks its arguments, then calls one job function. Errors an
operator can fix are printed as one line on stderr, never a traceback, and every outcome has its
own exit code (core.errors.ExitCode): 0 done, 1 crashed, 2 refused, 3 gate failed, 4 no champion
yet, 130 interrupted. When RISK_STATUS_FILE names a file, the outcome is also written there as
JSON (`command`, `exit_code`, `outcome`, `message`): the DAGs read it to tell the job's own
one-line message apart from Spark's log output.
This file is also the application spark-submit runs (`spark-submit jobs/cli.py ingest ...`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
from pathlib import Path

from core.errors import ExitCode, PipelineError
from core.settings import ConfigError, configure, ensure_lake, resolve_lake, settings_and_problems

EXIT_USAGE = ExitCode.REFUSED  # argparse's own code for a usage error
DEMO_START = dt.date(2026, 4, 22)  # the generator's default first day (`make demo`'s lake)

_usage_error: list[str] = []  # the last argument error, for the status file


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


def version() -> str:
    """`riskctl X (pyspark Y, delta-spark Z, mlflow W)` from the installed distributions."""
    from importlib import metadata

    def of(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    return (
        f"riskctl {of('distill-risk')} (pyspark {of('pyspark')}, "
        f"delta-spark {of('delta-spark')}, mlflow {of('mlflow')})"
    )


# --- subcommands -------------------------------------------------------------------------------


def cmd_generate(args: argparse.Namespace) -> int:
    from simulator import generate

    if args.days < 1:
        raise UsageError("--days must be at least 1")
    try:
        summary = generate(
            _lake(args),
            args.start,
            args.days,
            args.scale,
            args.seed,
            progress=not args.quiet,
            overwrite=args.overwrite,
        )
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

    validate_days(_lake(args, create=False), _days(args))  # GateFailed: exit 3
    return 0


def cmd_features(args: argparse.Namespace) -> int:
    from jobs.build_features import build_features

    build_features(_lake(args, create=False), _days(args))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from jobs.train import train

    train(_lake(args, create=False), args.as_of, promote=args.promote)
    return 0


def cmd_train_if_due(args: argparse.Namespace) -> int:
    from core.progress import bar
    from jobs.drift import compute_drift
    from jobs.train import train_if_due

    lake, days = _lake(args, create=False), _days(args)
    for day in bar(days, desc="train-if-due"):
        # The policy retrains on drift: decide it here, as `riskctl run` does before training.
        drift = bool(compute_drift(lake, day).get("retrain", False))
        train_if_due(lake, day, drift_flag=drift)
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

    # One pass over the days (each model scores its days at once); NoChampion: exit 4.
    score_days(_lake(args, create=False), _days(args), rescore=args.rescore)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    days, lake = _days(args), _lake(args)  # argument errors before any heavy import
    configure(spark_master=args.master)
    from jobs.run import run_days

    return run_days(lake, days)


def cmd_sql(args: argparse.Namespace) -> int:
    from jobs.sql import run_query

    if (args.query is None) == (args.file is None):
        raise UsageError("give either a QUERY or -f FILE (one of them)")
    if args.file is not None:
        try:
            query = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
        except OSError as exc:
            raise UsageError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    else:
        query = args.query
    # Analysts may only have read access to the lake: reading needs no write permission.
    run_query(_lake(args, create=False, writable=False), query, limit=args.limit, fmt=args.format)
    return 0


def cmd_sql_server(args: argparse.Namespace) -> int:
    from jobs.sql_server import serve

    return serve(_lake(args, create=False, writable=False), port=args.port)


def cmd_report(args: argparse.Namespace) -> int:
    from jobs.report import build_report

    path = build_report(_lake(args, create=False), args.date)
    print(path)
    if args.open:
        import webbrowser

        webbrowser.open(f"file://{path}")
    return 0


def cmd_maintain(args: argparse.Namespace) -> int:
    from jobs.maintenance import maintain

    maintain(_lake(args, create=False), retention_hours=args.retention_hours)
    return 0


# --- parser ------------------------------------------------------------------------------------


class HelpFormatter(argparse.HelpFormatter):
    """Prose is wrapped, example blocks keep their lines; every option's default is shown."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = []
        for para in text.split("\n\n"):
            lines = para.splitlines()
            if any(line.startswith("  ") for line in lines):  # a block of examples
                paragraphs.append("\n".join(indent + line for line in lines))
            else:
                paragraphs.append(super()._fill_text(para, width, indent))
        return "\n\n".join(paragraphs)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if (
            "%(default)" in text
            or action.required
            or not action.option_strings
            or action.default in (None, False, argparse.SUPPRESS)
        ):
            return text
        return f"{text} (default: %(default)s)"


class OneLineParser(argparse.ArgumentParser):
    """Argument errors as one line on stderr (no usage dump), exit code 2; no abbreviations."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # type: ignore[override]
        _usage_error.append(f"{self.prog}: {message}")
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--lake",
        metavar="DIR",
        help="lake root, a directory or an object-store URI (default: $RISK_LAKE, else ./lake)",
    )


def _day_range(p: argparse.ArgumentParser, end_required: bool = False) -> None:
    p.add_argument(
        "--start", type=parse_date, required=True, metavar="YYYY-MM-DD", help="first day (UTC)"
    )
    p.add_argument(
        "--end",
        type=parse_date,
        required=end_required,
        metavar="YYYY-MM-DD",
        help="last day, inclusive" + ("" if end_required else " (default: the --start day)"),
    )


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="riskctl",
        description="Find distillation campaigns in an LLM API's logs: raw zone -> Delta "
        "features -> MLflow model -> daily gold risk tables. Every command takes --lake.",
        epilog="exit codes: 0 done, 1 crashed, 2 refused (bad input, nothing done), "
        "3 quality gate failed, 4 no champion model yet, 130 interrupted\n\n"
        + _examples(
            "riskctl run --lake lake --start 2026-04-22 --end 2026-05-05",
            'riskctl sql --lake lake "SELECT * FROM risk.latest_account_scores LIMIT 10"',
            "riskctl run --help",
        ),
    )
    parser.add_argument(
        "--version",
        action="version",
        version=version(),
        help="print the versions of riskctl, Spark, Delta and MLflow and exit",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="debug logging (default: info)"
    )
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=OneLineParser
    )

    p = sub.add_parser(
        "run",
        help="the daily pipeline for a range of days, end to end",
        description="For each day in order, as the daily DAG would: ingest what landed, "
        "validate, build features, train and promote a model when the retraining policy says "
        "so, and publish both gold tables. A day with no champion model yet publishes no "
        "scores (exit 0). Re-running a day replaces that day's outputs. A day that fails the "
        "quality gate stops the run there (exit 3).",
        epilog=_examples(
            "riskctl run --lake lake --start 2026-04-22 --end 2026-05-05",
            "riskctl run --lake lake --start 2026-05-05 --end 2026-05-05   # re-run one day",
            "riskctl run --lake lake --start 2026-04-22 --end 2026-04-28 "
            "--master spark://127.0.0.1:7077",
        ),
    )
    _common(p)
    _day_range(p, end_required=True)
    p.add_argument(
        "--master",
        metavar="URL",
        help="Spark master, e.g. spark://host:7077 (default: $RISK_SPARK_MASTER, else local[*])",
    )
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "generate",
        help="write a synthetic raw zone with ground truth",
        description="Write <lake>/raw/* as the upstream systems would, and the ground truth "
        "under <lake>/_truth (the pipeline never reads it).",
        epilog=_examples(
            "riskctl generate --lake /tmp/lake --scale tiny --days 14",
            "riskctl generate --lake /tmp/lake45 --scale small --days 45 --seed 7",
        ),
    )
    _common(p)
    p.add_argument(
        "--start",
        type=parse_date,
        default=DEMO_START,
        metavar="YYYY-MM-DD",
        help="first landed day",
    )
    p.add_argument("--days", type=int, default=45, help="number of days to generate")
    p.add_argument(
        "--scale",
        choices=["tiny", "small", "medium", "seed"],
        default="small",
        help="size of the world: tiny ~3k accounts, small ~20k, medium ~100k, seed ~275k",
    )
    p.add_argument("--seed", type=int, default=7, help="random seed (same seed, same lake)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing raw zone and truth in the lake",
    )
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser(
        "ingest",
        help="raw zone -> clean Delta tables, quarantine and audit",
        description="Parse each landed day's raw files, quarantine broken lines with a reason, "
        "drop duplicates, and write ops/ingest_audit.",
        epilog=_examples("riskctl ingest --lake lake --start 2026-04-22 --end 2026-04-28"),
    )
    _common(p)
    _day_range(p)
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser(
        "validate",
        help="Great Expectations gate on the clean tables",
        description="Run the expectation suites for the days and update the Data Docs "
        "(<lake>/ops/data_docs/index.html); exit 3 and name the failed expectations when a "
        "blocking (critical) one fails.",
        epilog=_examples("riskctl validate --lake lake --start 2026-05-05"),
    )
    _common(p)
    _day_range(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "features",
        help="per-account daily features and clusters",
        description="Build the per-account features and linked-account clusters as of each "
        "day (the days before must be built first).",
        epilog=_examples("riskctl features --lake lake --start 2026-05-05"),
    )
    _common(p)
    _day_range(p)
    p.set_defaults(func=cmd_features)

    p = sub.add_parser(
        "train",
        help="train a model as of a day and register it (challenger)",
        description="Train on labels known as of the day, log the run to MLflow and register "
        "the model as `challenger`; with --promote it becomes `champion` only if it beats the "
        "current one on the same validation window.",
        epilog=_examples(
            "riskctl train --lake lake --as-of 2026-05-04",
            "riskctl train --lake lake --as-of 2026-05-04 --promote",
        ),
    )
    _common(p)
    p.add_argument(
        "--as-of",
        type=parse_date,
        required=True,
        dest="as_of",
        metavar="YYYY-MM-DD",
        help="train on what was known at the end of this day",
    )
    p.add_argument(
        "--promote", action="store_true", help="promote to champion if it beats the current one"
    )
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "train-if-due",
        help="apply the retraining policy for days",
        description="Compute drift, then train, register and promote a model on the days the "
        "retraining policy names (first model once enough labels are known, then Mondays, and "
        "on drift); reuse the model of a day already trained.",
        epilog=_examples("riskctl train-if-due --lake lake --start 2026-05-04"),
    )
    _common(p)
    _day_range(p)
    p.set_defaults(func=cmd_train_if_due)

    p = sub.add_parser(
        "promote",
        help="make the challenger (or --version) the champion",
        description="Unconditionally (an operator's decision): no gate. Days already scored "
        "keep their version until `riskctl score --rescore` republishes them.",
        epilog=_examples("riskctl promote --lake lake", "riskctl promote --lake lake --version 1"),
    )
    _common(p)
    p.add_argument(
        "--version", metavar="N", help="model version to promote (default: the challenger)"
    )
    p.set_defaults(func=cmd_promote)

    p = sub.add_parser(
        "rollback",
        help="give the champion alias back to the previous champion",
        epilog=_examples("riskctl rollback --lake lake"),
    )
    _common(p)
    p.set_defaults(func=cmd_rollback)

    p = sub.add_parser(
        "evaluate",
        help="metrics against the generator's ground truth",
        description="Average precision, recall at fixed false-positive rates, precision@k, "
        "campaigns caught and days to first flag, from the published scores against the "
        "generator's truth (<lake>/_truth).",
        epilog=_examples(
            "riskctl evaluate --lake lake",
            "riskctl evaluate --lake lake --start 2026-05-01 --end 2026-05-05",
        ),
    )
    _common(p)
    p.add_argument(
        "--start",
        type=parse_date,
        metavar="YYYY-MM-DD",
        help="first score day (default: the first published)",
    )
    p.add_argument(
        "--end",
        type=parse_date,
        metavar="YYYY-MM-DD",
        help="last score day (default: the last published)",
    )
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "score",
        help="score days with the champion and publish gold tables",
        description="Score every account active in the 7 days ending on each day and replace "
        "that day's rows of both gold tables. Exit 4 when no model can score yet.",
        epilog=_examples(
            "riskctl score --lake lake --start 2026-05-05",
            "riskctl score --lake lake --start 2026-05-04 --end 2026-05-05 --rescore",
        ),
    )
    _common(p)
    _day_range(p)
    p.add_argument(
        "--rescore",
        action="store_true",
        help="use the current champion even on days another version already scored "
        "(after rollback or promote); without it a re-run keeps the day's "
        "version",
    )
    p.set_defaults(func=cmd_score)

    p = sub.add_parser(
        "sql",
        help="run SQL over the risk.* tables (read-only)",
        description="Run the statements of QUERY or FILE (separated by `;`; the result of the "
        "last one is printed) over the risk.* tables. Only reads: writes are refused.",
        epilog=_examples(
            'riskctl sql --lake lake "SELECT * FROM risk.latest_account_scores '
            'ORDER BY risk_score DESC LIMIT 20"',
            "riskctl sql --lake lake -f sql/critical_accounts_today.sql --format csv "
            "> critical.csv",
            'riskctl sql --lake lake --format json "DESCRIBE TABLE risk.account_scores_daily"',
            "echo 'SHOW TABLES IN risk' | riskctl sql --lake lake -f -",
        ),
    )
    _common(p)
    p.add_argument("query", nargs="?", metavar="QUERY", help="SQL text (or use -f)")
    p.add_argument(
        "-f",
        "--file",
        metavar="FILE",
        help="read the SQL from FILE, '-' for stdin (default: the QUERY argument)",
    )
    p.add_argument(
        "--format",
        choices=["table", "csv", "json"],
        default="table",
        help="output: an aligned text table, CSV with a header row, or a JSON array of objects",
    )
    p.add_argument("--limit", type=int, default=50, help="rows printed at most (0: all)")
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser(
        "sql-server",
        help="read-only JDBC/Thrift SQL endpoint for analysts",
        description="Spark's Thrift server over the risk.* tables, read-only, bound to "
        "127.0.0.1 ($RISK_SQL_HOST to change); runs in the foreground until Ctrl-C.",
        epilog=_examples(
            "riskctl sql-server --lake lake",
            "beeline -u jdbc:hive2://localhost:10000/risk -n $USER",
        ),
    )
    _common(p)
    p.add_argument("--port", type=int, default=10000, help="TCP port")
    p.set_defaults(func=cmd_sql_server)

    p = sub.add_parser(
        "report",
        help="build the daily HTML report (and its CSV)",
        description="Write <lake>/reports/<date>/index.html (sortable tables, links to the "
        "days before and after, the Data Docs and the model's MLflow run), the day's high and "
        "critical accounts as CSV beside it, and <lake>/reports/index.html; print the page's "
        "path.",
        epilog=_examples(
            "riskctl report --lake lake --date 2026-05-05",
            "riskctl report --lake lake --date 2026-05-05 --open",
        ),
    )
    _common(p)
    p.add_argument(
        "--date",
        type=parse_date,
        required=True,
        metavar="YYYY-MM-DD",
        help="the score day to report",
    )
    p.add_argument(
        "--open",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="open the page in a web browser",
    )
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "maintain",
        help="OPTIMIZE and VACUUM the lake's tables",
        description="Compact the recent partitions of every Delta table (Z-ordered where "
        "analysts filter) and VACUUM files older than the retention.",
        epilog=_examples(
            "riskctl maintain --lake lake", "riskctl maintain --lake lake --retention-hours 336"
        ),
    )
    _common(p)
    p.add_argument(
        "--retention-hours",
        type=int,
        default=168,
        help="VACUUM keeps files younger than this (at least 168)",
    )
    p.set_defaults(func=cmd_maintain)
    return parser


# --- outcome -----------------------------------------------------------------------------------


def write_status(command: str, code: int, message: str) -> None:
    """The outcome as JSON in $RISK_STATUS_FILE, when set (for the DAGs)."""
    path = settings_and_problems()[0].status_file
    if not path:
        return
    try:
        outcome = ExitCode(code).name.lower()
    except ValueError:
        outcome = "crashed"
    text = json.dumps(
        {"command": command, "exit_code": int(code), "outcome": outcome, "message": message}
    )
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text + "\n")
    os.replace(tmp, path)


def _fail(command: str, code: ExitCode, message: str) -> int:
    line = f"riskctl {command}: {message}"
    print(line, file=sys.stderr)
    write_status(command, code, line)
    return int(code)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        if exc.code:
            words = [a for a in (sys.argv[1:] if argv is None else argv) if not a.startswith("-")]
            write_status(
                words[0] if words else "",
                int(exc.code),
                _usage_error[-1] if _usage_error else "bad arguments",
            )
        raise
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("py4j", "urllib3", "alembic", "great_expectations"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from tqdm.contrib.logging import logging_redirect_tqdm

    command = args.command
    try:
        with logging_redirect_tqdm():  # log lines go above the progress bars, not through them
            code = int(args.func(args) or 0)
    except UsageError as exc:
        return _fail(command, ExitCode.REFUSED, str(exc))
    except ConfigError as exc:
        return _fail(command, ExitCode.REFUSED, str(exc))
    except PipelineError as exc:
        return _fail(command, exc.exit_code, exc.operator_message)
    except KeyboardInterrupt:
        return _fail(command, ExitCode.INTERRUPTED, "interrupted")
    except Exception as exc:
        if getattr(exc, "operator_message", None):  # an error class of our own, by duck typing
            return _fail(command, getattr(exc, "exit_code", ExitCode.REFUSED), exc.operator_message)
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        write_status(
            command, ExitCode.CRASHED, f"riskctl {command} crashed: {type(exc).__name__}: {first}"
        )
        raise  # the traceback is what a crash needs; Python exits 1
    write_status(command, code, f"riskctl {command}: " + ("done" if code == 0 else f"exit {code}"))
    return code


if __name__ == "__main__":
    sys.exit(main())
