"""Progress bars for steps that go over many days.

Shown only on a terminal (tqdm's `disable=None`), so Airflow task logs and pipes get none.
`riskctl` wraps every command in `logging_redirect_tqdm`, which prints log lines above the bar
instead of through it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def bar(
    iterable: Iterable[Any] | None = None,
    desc: str = "",
    unit: str = "day",
    total: int | None = None,
    **kwargs: Any,
):
    """A tqdm bar over `iterable` (or a manual one of `total` steps); silent off a terminal."""
    from tqdm import tqdm

    return tqdm(
        iterable,
        desc=desc,
        unit=unit,
        total=total,
        disable=kwargs.pop("disable", None),
        dynamic_ncols=True,
        **kwargs,
    )
