"""Set-up, benchmarks, demo and deployment helpers (no pipeline logic lives here)."""
