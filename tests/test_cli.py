"""`riskctl` follows argparse's and Unix habits: help with defaults and examples, no abbreviations,
`--version`, one exit code per outcome (also written to $RISK_STATUS_FILE for the DAGs), and
progress bars that log lines do not break."""

from __future__ import annotations

import argparse
import io
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import ExitCode, GateFailed
from jobs import cli

REPO = Path(__file__).resolve().parent.parent


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_version_names_the_versions(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("riskctl 0.") and "pyspark 4.0.1" in out and "mlflow 3." in out


def test_every_option_has_help_and_shows_its_default():
    parsers = {"riskctl": cli.build_parser(), **subcommands()}
    assert {"run", "sql", "report", "score", "validate", "train-if-due"} <= set(parsers)
    shown = 0
    for name, parser in parsers.items():
        helptext = parser.format_help()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
                continue
            assert action.help, (name, action.dest)
            flag = action.nargs == 0
            if action.option_strings and not action.required and not flag:
                # a default value, or words saying what happens without the option
                rendered = parser._get_formatter()._expand_help(action)
                assert "default" in rendered, (name, action.dest, rendered)
                shown += 1
        assert parser.allow_abbrev is False, name
        if name != "riskctl":
            assert "examples:\n  riskctl " in helptext, name
    assert shown > 20
    run_help = subcommands()["run"].format_help()
    # --end is required for run: its help must not claim a default
    end = next(a for a in subcommands()["run"]._actions if a.dest == "end")
    assert end.required and "default" not in end.help
    assert "--end YYYY-MM-DD" in run_help


def test_abbreviated_options_are_refused(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["train", "--as-of", "2026-05-01", "--promot"])
    assert done.value.code == ExitCode.REFUSED
    assert "unrecognized arguments: --promot" in capsys.readouterr().err
    # Negative control: the full spelling parses.
    args = cli.build_parser().parse_args(["train", "--as-of", "2026-05-01", "--promote"])
    assert args.promote is True


def _status(path: Path) -> dict:
    return json.loads(path.read_text())


@pytest.fixture()
def status_file(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "status.json"
    monkeypatch.setenv("RISK_STATUS_FILE", str(path))
    return path


def test_refused_is_exit_2_with_one_line(status_file, capsys, lake):
    rc = cli.main(["maintain", "--lake", lake, "--retention-hours", "24"])
    err = capsys.readouterr().err.strip()
    assert rc == ExitCode.REFUSED == 2
    assert err.startswith("riskctl maintain: --retention-hours 24 is below the safe 168 h")
    assert len(err.splitlines()) == 1
    assert _status(status_file) == {
        "command": "maintain",
        "exit_code": 2,
        "outcome": "refused",
        "message": err,
    }


def test_bad_arguments_are_refused_in_the_status_file_too(status_file, capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["score", "--start", "2026-13-01"])
    assert done.value.code == 2
    status = _status(status_file)
    assert (status["command"], status["exit_code"], status["outcome"]) == ("score", 2, "refused")
    assert "is not a date" in status["message"]


def test_no_champion_is_exit_4(spark, status_file, capsys, lake):
    """A real `riskctl score` on a lake without any model nor features to score."""
    rc = cli.main(["score", "--lake", lake, "--start", "2026-05-01"])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert rc == ExitCode.NO_CHAMPION == 4
    assert err.startswith("riskctl score: no champion model yet")
    assert _status(status_file)["outcome"] == "no_champion"
    assert not (Path(lake) / "gold").exists()


def test_gate_failed_is_exit_3(status_file, capsys, monkeypatch, lake):
    import jobs.validate

    def gate(lake, days):
        raise GateFailed(f"table=interactions day={days[0]} failed: request_id unique")

    monkeypatch.setattr(jobs.validate, "validate_days", gate)
    rc = cli.main(["validate", "--lake", lake, "--start", "2026-05-01"])
    assert rc == ExitCode.GATE_FAILED == 3
    assert _status(status_file) == {
        "command": "validate",
        "exit_code": 3,
        "outcome": "gate_failed",
        "message": "riskctl validate: table=interactions day=2026-05-01 failed: request_id unique",
    }
    # Negative control: the same command when the gate passes.
    monkeypatch.setattr(jobs.validate, "validate_days", lambda lake, days: True)
    assert cli.main(["validate", "--lake", lake, "--start", "2026-05-01"]) == 0
    assert _status(status_file)["outcome"] == "ok"


def test_crash_keeps_its_traceback_and_exit_1(tmp_path, lake):
    """An unexpected error is not dressed up as a refusal: traceback, exit 1, status crashed."""
    status = tmp_path / "status.json"
    code = (
        "import sys, jobs.ingest\n"
        "def boom(lake, days):\n"
        "    raise OSError('No space left on device')\n"
        "jobs.ingest.ingest_days = boom\n"
        "from jobs.cli import main\n"
        f"sys.exit(main(['ingest', '--lake', {lake!r}, '--start', '2026-05-01']))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**_env(), "RISK_STATUS_FILE": str(status)},
        timeout=120,
    )
    assert proc.returncode == ExitCode.CRASHED == 1
    assert "Traceback (most recent call last)" in proc.stderr
    assert _status(status) == {
        "command": "ingest",
        "exit_code": 1,
        "outcome": "crashed",
        "message": "riskctl ingest crashed: OSError: No space left on device",
    }


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "PYTHONPATH": str(REPO)}


def test_sql_reads_a_file_or_stdin_but_not_both(tmp_path, capsys, monkeypatch, lake):
    import jobs.sql

    seen = []
    monkeypatch.setattr(
        jobs.sql, "run_query", lambda lake, query, limit, fmt: seen.append((query, fmt))
    )
    query = tmp_path / "q.sql"
    query.write_text("SELECT 1 AS one;\n")
    assert cli.main(["sql", "--lake", lake, "-f", str(query), "--format", "csv"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("SHOW TABLES"))
    assert cli.main(["sql", "--lake", lake, "-f", "-"]) == 0
    assert seen == [("SELECT 1 AS one;\n", "csv"), ("SHOW TABLES", "table")]
    assert cli.main(["sql", "--lake", lake, "-f", str(query), "SELECT 2"]) == 2
    assert cli.main(["sql", "--lake", lake]) == 2
    assert cli.main(["sql", "--lake", lake, "-f", str(tmp_path / "missing.sql")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert len(seen) == 2


def screen(text: str) -> list[str]:
    """What a terminal shows for `text`: a carriage return goes back to the line's start."""
    lines = []
    for raw in text.split("\n"):
        line: list[str] = []
        pos = 0
        for ch in raw:
            if ch == "\r":
                pos = 0
                continue
            if pos < len(line):
                line[pos] = ch
            else:
                line.append(ch)
            pos += 1
        lines.append("".join(line).rstrip())
    return lines


def _bar_with_logs(redirect: bool) -> list[str]:
    import contextlib

    from tqdm.contrib.logging import logging_redirect_tqdm

    from core.progress import bar

    logger = logging.getLogger("risk.test_progress")
    handler = logging.StreamHandler(sys.stderr)  # a console handler, as riskctl's basicConfig
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with logging_redirect_tqdm(loggers=[logger]) if redirect else contextlib.nullcontext():
            for i in bar(
                range(3), desc="days", file=sys.stderr, disable=False, ncols=60, mininterval=0
            ):
                logger.warning("day %d done with a long message", i)
    finally:
        logger.removeHandler(handler)
    return screen(sys.stderr.getvalue()) if hasattr(sys.stderr, "getvalue") else []


def test_log_lines_do_not_break_a_progress_bar(capsys):
    """Inside logging_redirect_tqdm (riskctl wraps every command in it) a log line printed while
    a bar is drawn lands on a line of its own, in full, and the bar is redrawn below it."""
    capsys.readouterr()
    _bar_with_logs(redirect=True)
    lines = screen(capsys.readouterr().err)
    for i in range(3):
        assert f"day {i} done with a long message" in lines, lines
    assert any(line.startswith("days: 100%") for line in lines)
    # Negative control: without the redirect the log text is glued to the bar.
    _bar_with_logs(redirect=False)
    lines = screen(capsys.readouterr().err)
    assert "day 0 done with a long message" not in lines
    assert any(
        line.startswith("days:") and line.endswith("day 0 done with a long message")
        for line in lines
    ), lines


def test_every_multi_day_command_shows_progress():
    """Each day-range subcommand's job loops over its days through core.progress.bar; `run`
    (whose steps each take the whole range at once) shows its steps on one; `score` publishes
    a range in one pass (nothing to count)."""
    import inspect

    import jobs.ingest
    import jobs.run
    import jobs.validate

    for fn in (
        jobs.ingest.ingest_days,
        jobs.validate.gate_days,
        cli.cmd_train_if_due,
        jobs.run._Steps.__init__,
    ):
        assert "bar(" in inspect.getsource(fn), fn.__qualname__
    assert "_Steps(" in inspect.getsource(jobs.run.run_range)
