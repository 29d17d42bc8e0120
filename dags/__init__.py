"""Airflow DAGs of the risk pipeline: thin schedules around `riskctl` jobs (see docs/AIRFLOW.md)."""
