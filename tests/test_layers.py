"""The import graph keeps its layers: the core imports none of ours, features/models/quality never
import jobs/, and no two packages import each other (docs/DESIGN.md)."""

from __future__ import annotations

from pathlib import Path

from tools.import_graph import cycles, package_graph, violations

REPO = Path(__file__).resolve().parent.parent


def test_the_repository_keeps_its_layers():
    graph = package_graph(REPO)
    # Real content first: the walker sees the imports that do exist.
    assert {"core", "features", "models"} <= graph["jobs"]
    assert "core" in graph["models"] and "core" in graph["features"]
    assert graph["core"] == set()
    assert violations(REPO) == []


def _plant(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_a_planted_upward_import_and_a_cycle_are_found(tmp_path):
    clean = _plant(
        tmp_path / "clean",
        {
            "core/__init__.py": "",
            "features/a.py": "from core import tables\n",
            "jobs/run.py": "import features.a\nfrom models import scoring\n",
            "models/scoring.py": "def f():\n    from core.errors import PipelineError\n",
        },
    )
    assert violations(clean) == []
    # Negative control: one import inside a function, from a lower layer up into jobs/.
    bad = _plant(
        tmp_path / "bad",
        {
            "core/__init__.py": "",
            "features/a.py": "from core import tables\n",
            "jobs/run.py": "from models import scoring\n",
            "models/scoring.py": "def f():\n    from jobs.run import x\n",
        },
    )
    found = violations(bad)
    assert "models/scoring.py imports jobs (layer models must not)" in found
    assert "cycle between jobs and models" in found
    # The core importing anything of ours is a violation too.
    core_up = _plant(
        tmp_path / "core_up", {"core/spark.py": "import features\n", "features/x.py": ""}
    )
    assert violations(core_up) == ["core/spark.py imports features (layer core must not)"]


def test_cycles_are_found_through_a_third_package():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [("a", "b"), ("a", "c"), ("b", "c")]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
