"""One settings object: parsed from the environment, overridden by the CLI, listed in the README,
and the only reader of `os.environ` in the code folders."""

from __future__ import annotations

import ast
import re
from dataclasses import fields
from pathlib import Path

import pytest

from core.settings import VARIABLES, ConfigError, Settings, overridden, settings

REPO = Path(__file__).resolve().parent.parent
CODE = ("core", "features", "models", "quality", "simulator", "jobs", "dags", "tools")


def test_values_are_parsed_and_bad_ones_named():
    s = Settings.from_env(
        {
            "RISK_SPARK_CONF": "a=1, b = 2",
            "RISK_XGB_WORKERS": "3",
            "RISK_LAKE": "/x",
            "RISK_RAW_WAIT_HOURS": "1.5",
            "RISK_ENV": "",
        }
    )
    assert s.spark_conf == (("a", "1"), ("b", "2"))
    assert (s.xgb_workers, s.lake, s.raw_wait_hours, s.environment) == (3, "/x", 1.5, "local")
    assert Settings.from_env({}) == Settings()
    with pytest.raises(ConfigError, match="RISK_XGB_WORKERS='two'"):
        Settings.from_env({"RISK_XGB_WORKERS": "two"})
    with pytest.raises(ConfigError, match="RISK_SPARK_CONF"):
        Settings.from_env({"RISK_SPARK_CONF": "spark.x"})


def test_overrides_win_over_the_environment_and_end_with_their_block(monkeypatch):
    monkeypatch.setenv("RISK_SPARK_MASTER", "local[1]")
    assert settings().spark_master == "local[1]"
    with overridden(spark_master="spark://h:7077", lake=None) as inside:
        assert inside.spark_master == settings().spark_master == "spark://h:7077"
    assert settings().spark_master == "local[1]"
    with pytest.raises(TypeError, match="unknown settings"), overridden(no_such_setting=1):
        pass


def test_every_variable_fills_a_field_and_every_field_has_a_variable():
    names = {f.name for f in fields(Settings)}
    assert sorted(v.field for v in VARIABLES) == sorted(names)
    assert len({v.name for v in VARIABLES}) == len(VARIABLES)


def readme_variables(text: str) -> set[str]:
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)`", section, re.M))


def test_the_readme_lists_every_variable():
    text = (REPO / "README.md").read_text()
    assert readme_variables(text) == {v.name for v in VARIABLES}
    # Negative control: a row taken out of the table is missed.
    row = next(line for line in text.splitlines() if line.startswith("| `RISK_XGB_WORKERS`"))
    assert "RISK_XGB_WORKERS" not in readme_variables(text.replace(row + "\n", ""))


def environ_readers(root: Path, folders=CODE) -> list[str]:
    """Modules that touch os.environ or os.getenv, other than core/settings.py."""
    found = []
    for folder in folders:
        for path in sorted((root / folder).rglob("*.py")):
            rel = str(path.relative_to(root))
            if rel == "core/settings.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Attribute)
                    and node.attr in ("environ", "getenv")
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "os"
                ):
                    found.append(f"{rel}:{node.lineno}")
    return found


def test_only_the_settings_module_reads_the_environment(tmp_path):
    assert environ_readers(REPO) == []
    planted = tmp_path / "jobs"
    planted.mkdir()
    (planted / "x.py").write_text("import os\n\ndef f():\n    return os.environ.get('RISK_X')\n")
    assert environ_readers(tmp_path, ("jobs",)) == ["jobs/x.py:4"]
