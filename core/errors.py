"""Errors an operator can act on. `riskctl` prints `operator_message` as one line and exits 1."""

from __future__ import annotations


class PipelineError(Exception):
    """A failure with a message a data engineer understands (what, which day, what to do)."""

    @property
    def operator_message(self) -> str:
        return str(self)


class GateFailed(PipelineError):
    """A blocking data-quality expectation failed: downstream steps for the day must not run."""


class NoChampion(PipelineError):
    """No model holds the champion alias yet: nothing can be scored."""


class ModelFeatureMismatch(PipelineError):
    """The champion needs features that the feature table no longer has."""
