"""The README's commands run as written: every `riskctl` line parses with the real parser and
names only days of the lake `make demo` leaves; the quick ones (SQL, the report) run for real on
a small lake holding the demo's last two days."""

from __future__ import annotations

import datetime as dt
import re
import shlex
from pathlib import Path

import pytest

from core import tables
from core.delta_io import predicate, replace_where
from jobs import cli

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
DEMO_FIRST, DEMO_DAYS = cli.DEMO_START, 14  # Makefile DEMO_DAYS
DEMO_LAST = DEMO_FIRST + dt.timedelta(days=DEMO_DAYS - 1)
QUICK = {"sql", "report"}  # seconds on a small lake; the others run the pipeline or a server


def readme_commands(text: str) -> list[list[str]]:
    """argv of every `.venv/bin/riskctl` line of the README's shell blocks (comments dropped)."""
    out = []
    for block in re.findall(r"^```[^\n]*\n(.*?)^```", text, re.M | re.S):
        for line in block.splitlines():
            if line.strip().startswith(".venv/bin/riskctl"):
                out.append(shlex.split(line, comments=True)[1:])
    return out


def check_command(argv: list[str]) -> list[str]:
    """Why the command would not run as written on the demo lake (empty: it would)."""
    problems = []
    try:
        args = cli.build_parser().parse_args(argv)
    except SystemExit:
        return [f"does not parse: {' '.join(argv)}"]
    if getattr(args, "lake", None) != "lake":
        problems.append(f"--lake is not the demo's `lake`: {' '.join(argv)}")
    for name in ("start", "end", "as_of", "date"):
        day = getattr(args, name, None)
        if isinstance(day, dt.date) and not DEMO_FIRST <= day <= DEMO_LAST:
            problems.append(f"--{name} {day} is not a day of the demo lake: {' '.join(argv)}")
    for word in argv:
        for day in re.findall(r"DATE'(\d{4}-\d\d-\d\d)'", word):
            if not DEMO_FIRST <= dt.date.fromisoformat(day) <= DEMO_LAST:
                problems.append(f"DATE'{day}' is not a day of the demo lake")
    if args.command == "sql" and args.file and not (REPO / args.file).is_file():
        problems.append(f"no file {args.file}")
    return problems


def test_every_readme_command_parses_and_names_demo_days():
    commands = readme_commands(README.read_text())
    assert len(commands) >= 15
    assert {c[0] for c in commands} >= {
        "run",
        "sql",
        "report",
        "train",
        "promote",
        "rollback",
        "score",
        "evaluate",
        "ingest",
        "validate",
        "features",
        "train-if-due",
        "sql-server",
    }
    assert [p for argv in commands for p in check_command(argv)] == []


def test_the_check_catches_what_a_stale_readme_had():
    """Negative control: the lines the README used to carry are refused."""
    stale = (
        "```\n"
        ".venv/bin/riskctl report --lake lake --date 2026-06-05\n"
        ".venv/bin/riskctl score --lake lake --start D1 --end D2 --rescore\n"
        ".venv/bin/riskctl train --lake lake --as-of 2026-05-01 --promot\n"
        "```\n"
    )
    problems = [p for argv in readme_commands(stale) for p in check_command(argv)]
    assert len(problems) == 3
    assert "2026-06-05 is not a day of the demo lake" in problems[0]
    assert all(p.startswith("does not parse") for p in problems[1:])


DAYS = [DEMO_LAST - dt.timedelta(days=1), DEMO_LAST]


def build_demo_tail(spark, lake: str) -> None:
    """The demo lake's last two days of gold and audit rows, by hand (a few accounts)."""
    at = dt.datetime(2026, 5, 6, 2, 0)
    scores, clusters = [], []
    for i, day in enumerate(DAYS):
        for account, score, band, cluster in (
            ("acct_a", 0.97 - i * 0.01, "critical", "clu_1"),
            ("acct_b", 0.81, "high", "clu_1"),
            ("acct_c", 0.42, "medium", None),
            ("acct_d", 0.05, "low", None),
        ):
            scores.append(
                (
                    account,
                    day,
                    score,
                    band,
                    cluster,
                    [f"reason of {account}"],
                    "account_risk",
                    "2",
                    at,
                )
            )
        clusters.append(("clu_1", day, 2, 2, 0.97, 0.89, 900, ["payment"], ["acct_a", "acct_b"]))
    audit = [(s, day, 10, 9, 1, 0, at) for day in DAYS for s in tables.RAW_SOURCES]
    for table, rows, col in (
        (tables.ACCOUNT_SCORES, scores, "score_date"),
        (tables.ACCOUNT_CLUSTERS, clusters, "score_date"),
        (tables.INGEST_AUDIT, audit, "land_date"),
    ):
        replace_where(
            spark.createDataFrame(rows, table.schema), table, lake, predicate(**{col: DAYS})
        )


@pytest.fixture(scope="module")
def demo_tail(spark, tmp_path_factory) -> str:
    lake = str(tmp_path_factory.mktemp("readme") / "lake")
    build_demo_tail(spark, lake)
    return lake


def test_quick_readme_commands_run_on_the_demo_days(spark, demo_tail, capsys, monkeypatch):
    monkeypatch.chdir(REPO)  # `-f sql/...` as written, from the repository root
    quick = [argv for argv in readme_commands(README.read_text()) if argv[0] in QUICK]
    assert {a[0] for a in quick} == QUICK and len(quick) >= 4
    for argv in quick:
        argv = [demo_tail if a == "lake" else a for a in argv]
        capsys.readouterr()
        assert cli.main(argv) == 0, argv
        out = capsys.readouterr().out
        assert out.strip(), argv
        if argv[0] == "sql" and "account_scores_daily WHERE score_date" in " ".join(argv):
            assert out.splitlines()[2].startswith("acct_a ")  # the riskiest first
    page = Path(demo_tail, "reports", DEMO_LAST.isoformat(), "index.html")
    assert page.is_file() and page.with_name("high_risk_accounts.csv").is_file()
