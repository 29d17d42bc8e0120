"""Development tools: the demo, benchmarks, crash trials, the held-out strategy check and the
DuckDB reference. Deployment scripts live in `infra/`."""
