"""Thin Spark job entry points: each parses its day(s), reads, calls pure transforms, writes."""

import features  # noqa: F401  (registers the feature tables in core.tables)
