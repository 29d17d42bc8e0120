"""Synthetic raw-zone generator (`riskctl generate`).

    import datetime as dt
    from simulator import generate
    summary = generate("lake", dt.date(2026, 4, 22), days=14, scale="tiny", seed=1)

writes `<lake>/raw/{interactions,accounts,enforcement}/date=YYYY-MM-DD/part-NNNNN.jsonl.gz`
exactly as contract/LAKE.md describes (`part-0NNNN`: lines landing on their own day, at most
500k originals a file; `part-L0000`: lines landing L days late), and the ground truth, which the
pipeline never reads, under `<lake>/_truth/`:

- `accounts.parquet`: account_id, role (legit / attacker), population (for attackers: the
  campaign id), campaign_id, strategy (vocabulary.STRATEGIES), labelled (an enforcement line
  for it landed in the window), wrongly_banned, first_distillation_label_at, org_id,
  created_at, handover_at (a bought account: when the operator took it over; null otherwise).
- `counts.json`: per source and landed day, lines_written (non-empty lines), duplicates,
  broken (with a breakdown by kind) and accepted = lines_written - duplicates - broken.
- `campaigns.json`, `manifest.json`: campaigns (strategy, days, accounts, ban waves and their
  case ids) and model release days.

Modules: `vocabulary` (vocabularies, profiles, scales), `world` (accounts and schedules),
`traffic` (one day's requests: sampling and rendering), `faults` (delivery faults and their
exact accounting), `generator` (days in parallel, files, truth), `bench` (throughput, memory).
"""

from simulator.generator import generate

__all__ = ["generate"]
