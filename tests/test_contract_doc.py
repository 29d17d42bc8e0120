"""docs/CONTRACT.md describes the published tables exactly as the table registry declares them."""

from __future__ import annotations

import re
from pathlib import Path

from core.tables import ACCOUNT_CLUSTERS, ACCOUNT_SCORES, INGEST_AUDIT, Table, split_ddl

DOC = Path(__file__).resolve().parent.parent / "docs" / "CONTRACT.md"
PUBLISHED = (ACCOUNT_SCORES, ACCOUNT_CLUSTERS, INGEST_AUDIT)


def documented_columns(text: str, table: Table) -> list[tuple[str, str]]:
    """(column, type) rows of the markdown table under the `### <path>` heading."""
    section = re.search(rf"^### {re.escape(table.path)}\n(.*?)(?=^#)", text + "\n#", re.M | re.S)
    assert section, f"docs/CONTRACT.md has no section for {table.path}"
    rows = [
        line.split("|")[1:3]
        for line in section.group(1).splitlines()
        if line.startswith("| ") and not line.startswith("| column")
    ]
    return [(name.strip(), kind.strip().lower()) for name, kind in rows]


def registry_columns(table: Table) -> list[tuple[str, str]]:
    return [
        (c.split(" ", 1)[0], c.split(" ", 1)[1].strip().lower()) for c in split_ddl(table.schema)
    ]


def test_the_contract_doc_matches_the_registry():
    text = DOC.read_text()
    for table in PUBLISHED:
        documented = documented_columns(text, table)
        assert len(documented) >= 7  # real content: every published table has 7+ columns
        assert documented == registry_columns(table), table.name
        assert f"partitioned by `{table.partition_by[0]}`" in text.lower()


def test_a_drifted_column_is_caught():
    text = DOC.read_text()
    # Negative controls: a type changed in the doc, and a column the registry no longer has.
    altered = text.replace("| risk_score | double |", "| risk_score | float |", 1)
    assert altered != text
    assert documented_columns(altered, ACCOUNT_SCORES) != registry_columns(ACCOUNT_SCORES)
    renamed = text.replace("| n_high_risk | int |", "| n_high | int |", 1)
    assert documented_columns(renamed, ACCOUNT_CLUSTERS) != registry_columns(ACCOUNT_CLUSTERS)
