"""Errors an operator can act on, and the exit code each gives `riskctl`.

`riskctl` prints `operator_message` as one line on stderr and exits with the error's
`exit_code`, so that a scheduler can tell the outcomes apart without reading the output:

| code | meaning |
|---|---|
| 0 | done |
| 1 | crashed: an unexpected error (Python's code for an uncaught exception); retrying may help |
| 2 | refused: bad arguments, input or setting; nothing was done; retrying cannot help |
| 3 | gate failed: a blocking data-quality expectation failed; the day is not published |
| 4 | no champion yet: no model (nor label-free scorer) can score; nothing was published |
| 130 | interrupted (Ctrl-C) |
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    CRASHED = 1
    REFUSED = 2
    GATE_FAILED = 3
    NO_CHAMPION = 4
    INTERRUPTED = 130


class PipelineError(Exception):
    """A failure with a message a data engineer understands (what, which day, what to do)."""

    exit_code: ExitCode = ExitCode.REFUSED

    @property
    def operator_message(self) -> str:
        return str(self)


class GateFailed(PipelineError):
    """A blocking data-quality expectation failed: downstream steps for the day must not run."""

    exit_code = ExitCode.GATE_FAILED


class NoChampion(PipelineError):
    """No model holds the champion alias yet: nothing can be scored."""

    exit_code = ExitCode.NO_CHAMPION


class ModelFeatureMismatch(PipelineError):
    """The champion needs features that the feature table no longer has."""
