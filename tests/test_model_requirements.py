"""The logged model's pip requirements are the versions the lock installs, never a hand copy."""

from __future__ import annotations

import re
from pathlib import Path

from models import model_registry

LOCK = Path(__file__).resolve().parent.parent / "constraints.txt"


def _locked() -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==([^\s;]+)", LOCK.read_text(), re.MULTILINE)
    return {name.lower().replace("_", "-"): version for name, version in pins}


def test_the_model_requires_exactly_the_locked_versions():
    locked = _locked()
    got = dict(r.split("==") for r in model_registry.pip_requirements())
    assert set(got) == set(model_registry.MODEL_DISTRIBUTIONS)
    for name, version in got.items():
        assert locked[name] == version, name
    # Negative control: a stale pin (the way a hand-kept list drifts) differs from the lock.
    stale = {**got, "mlflow": "2.0.0"}
    assert any(locked[n] != v for n, v in stale.items())
