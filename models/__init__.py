"""Training set assembly, training, evaluation, the MLflow registry and scoring logic.

Pure parts (labels, training_set, evaluate metrics, policy, scoring transforms) take DataFrames
and days as arguments; only `models.model_registry` talks to MLflow and only `jobs/` read tables.
"""
