"""Data quality: the raw-zone contract, pseudonymisation, and the Great Expectations suites."""
