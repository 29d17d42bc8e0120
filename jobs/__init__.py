"""Thin Spark job entry points and the small runtime they share (session, config, registry, I/O)."""
