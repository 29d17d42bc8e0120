"""`generate()`: write a synthetic raw zone (LAKE.md) and its ground truth under `_truth/`.

Each day is generated independently from (seed, day) by one task, which writes every file that
day's records produce: the day's own files and the late files it contributes to the next days.
Tasks therefore run in parallel threads (numpy, Arrow and ISA-L release the GIL) and the output
is byte-for-byte the same whatever the scheduling.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from isal import isal_zlib
from tqdm import tqdm

from simulator import faults as F
from simulator import render as R
from simulator import vocabulary as C
from simulator.traffic import Renderer, sample_day
from simulator.world import DAY_MS, World

SOURCES = ("interactions", "accounts", "enforcement")
RENDER_ROWS = 65_536  # rows rendered at once: bounds the text held in memory per task
# Deflate by ISA-L (python-isal): with zlib, level 1 was half of the CPU per line; ISA-L's level 1
# is ~7x faster on our JSON lines and ~6% smaller. Same gzip format, read by any gzip reader.
# Levels 0-3 (ISA-L's range): 0 is the fastest, not "stored" as in zlib.
GZIP_LEVEL = 1


@dataclass
class DayResult:
    counts: dict[tuple[str, int], F.Counts] = field(default_factory=dict)
    kinds: dict[tuple[str, int], dict[str, int]] = field(default_factory=dict)
    files: int = 0

    def add(
        self, source: str, d: int, counts: dict[int, F.Counts], kinds: dict[int, dict[str, int]]
    ) -> None:
        for lag, c in counts.items():
            self.counts.setdefault((source, d + lag), F.Counts()).add(c)
            acc = self.kinds.setdefault((source, d + lag), {})
            for k, v in kinds[lag].items():
                acc[k] = acc.get(k, 0) + v


class _GzipFile:
    """A deterministic .jsonl.gz writer: no name or mtime in the header, atomic rename."""

    def __init__(self, path: Path, level: int = GZIP_LEVEL) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.tmp = path, path.with_name(path.name + ".tmp")
        self.f = open(self.tmp, "wb")  # noqa: SIM115 - closed in close()
        self.z = isal_zlib.compressobj(level, isal_zlib.DEFLATED, 31)

    def write(self, data: memoryview | bytes) -> None:
        if len(data):
            self.f.write(self.z.compress(data))

    def close(self) -> None:
        self.f.write(self.z.flush())
        self.f.close()
        os.replace(self.tmp, self.path)


class _Day:
    """Everything one day's task writes."""

    def __init__(
        self, w: World, rend: Renderer, lake: Path, d: int, gzip_level: int = GZIP_LEVEL
    ) -> None:
        self.w, self.rend, self.lake, self.d = w, rend, lake, d
        self.level = gzip_level
        self.res = DayResult()
        self.frng = np.random.default_rng([w.seed, 9, d])  # file-level choices

    def path(self, source: str, lag: int, part: int) -> Path:
        day = self.w.start + dt.timedelta(days=self.d + lag)
        return (
            self.lake
            / "raw"
            / source
            / f"date={day.isoformat()}"
            / f"part-{lag}{part:04d}.jsonl.gz"
        )

    def write(self, source: str, lag: int, part: int, chunks: list[bytes]) -> None:
        f = _GzipFile(self.path(source, lag, part), self.level)
        for c in chunks:
            f.write(c)
        self.close(f)

    def close(self, f: _GzipFile) -> None:
        if self.frng.random() < 0.08:  # a stray whitespace-only line (not a line read)
            f.write(b"   \n" if self.frng.random() < 0.5 else b"\n")
        f.close()
        self.res.files += 1

    def run(self) -> DayResult:
        self.interactions()
        self.accounts()
        self.enforcement()
        return self.res

    def deliver(
        self,
        source: str,
        tag: int,
        n: int,
        render: Callable[[int, int, np.random.Generator], pa.Array],
        p: F.Plan,
        ev_day: np.ndarray,
    ) -> None:
        """Render rows [0, n) in chunks, break, copy and route them into files.

        Lines landing today stream into part-0NNNN files of at most LINES_PER_FILE originals;
        lines landing `lag` days later are collected (a few percent) into part-{lag}0000."""
        w, d = self.w, self.d
        late: dict[int, list[bytes]] = {}
        for part, s0 in enumerate(range(0, n, C.LINES_PER_FILE)):
            s1 = min(n, s0 + C.LINES_PER_FILE)
            main: _GzipFile | None = None
            for sub, a in enumerate(range(s0, s1, RENDER_ROWS)):
                b = min(s1, a + RENDER_ROWS)
                crng = np.random.default_rng([w.seed, tag, d, part, sub])
                text = render(a, b, crng)
                sp = p.rows(a, b)
                bad = F.breaks(source, text, sp, d, w.start_ms, (w.seed, tag, 1, d, part, sub))
                outs, counts, kinds = F.route(text, bad, sp, ev_day[a:b], d, w.days, crng)
                self.res.add(source, d, counts, kinds)
                for lag, runs in outs.items():
                    if lag == 0:
                        main = main or _GzipFile(self.path(source, 0, part), self.level)
                        for run in runs:
                            main.write(run)
                    else:  # copied out: the rendered chunk is released before the next one
                        late.setdefault(lag, []).append(b"".join(runs))
                del text, outs
            if main is not None:
                self.close(main)
        for lag in sorted(late):
            self.write(source, lag, 0, late[lag])

    # ---- sources ------------------------------------------------------------------------------

    def interactions(self) -> None:
        w, d = self.w, self.d
        rng = np.random.default_rng([w.seed, 2, d])
        cols = sample_day(w, d, rng)
        n = len(cols["ts"])
        p = F.plan("interactions", rng, None, n, np.zeros(n, bool))
        self.deliver(
            "interactions",
            3,
            n,
            lambda a, b, r: self.rend.render(cols, slice(a, b), d, r),
            p,
            np.full(n, d, np.int64),
        )

    def accounts(self) -> None:
        w, d = self.w, self.d
        rng = np.random.default_rng([w.seed, 6, d])
        sel = np.flatnonzero(w.reg_day == d)
        if not len(sel):
            return
        sel = sel[np.argsort(w.reg_upd[sel], kind="stable")]
        n = len(sel)
        lag = w.reg_lag[sel].astype(np.int64)
        ev_day = (w.reg_upd[sel] - w.start_ms) // DAY_MS
        p = F.plan("accounts", rng, lag, n, (d + lag) == 0)
        self.deliver("accounts", 6, n, lambda a, b, r: self._registry_lines(sel[a:b], r), p, ev_day)

    def _registry_lines(self, sel: np.ndarray, rng: np.random.Generator) -> pa.Array:
        w = self.w
        a = w.reg_acct[sel]
        n = len(sel)
        u = rng.random((n, 4))
        upd = w.reg_upd[sel]
        cre_s = R.ts_strings(w.created[a])
        upd_s = R.ts_strings(upd)
        for i in np.flatnonzero(u[:, 0] < 0.02):  # some registry exports write local offsets
            upd_s[i] = _with_offset(int(upd[i]), 120)
        pay = w.reg_pay[sel]
        lines = []
        for i in range(n):
            ai = int(a[i])
            rec: dict = {"account_id": w.account_id[ai].decode()}
            if w.org[ai] >= 0:
                rec["org_id"] = w.org_id[w.org[ai]].decode()
            elif u[i, 1] < 0.5:
                rec["org_id"] = None
            rec["created_at"] = cre_s[i]
            rec["updated_at"] = upd_s[i]
            rec["signup_channel"] = C.SIGNUP_CHANNELS[w.channel[ai]]
            rec["payment_fingerprint"] = w.pay_fp_arr[pay[i]].decode() if pay[i] >= 0 else None
            rec["email_domain"] = w.domains[w.email[ai]]
            if u[i, 2] < 0.005:
                rec["billing_country"] = ""
            elif u[i, 2] > 0.01:
                rec["billing_country"] = C.COUNTRIES[w.bill_cc[ai]]
            rec["tier"] = C.TIERS[w.reg_tier[sel[i]]]
            rec["verified"] = bool(w.reg_verified[sel[i]])
            if u[i, 3] < 0.03:  # a column upstream added later
                rec["marketing_opt_in"] = bool(u[i, 3] < 0.015)
            lines.append(orjson.dumps(rec).decode() + "\n")
        return pa.array(lines, pa.string())

    def enforcement(self) -> None:
        w, d = self.w, self.d
        rng = np.random.default_rng([w.seed, 7, d])
        sel = np.flatnonzero(w.enf_day == d)
        if not len(sel):
            return
        lines = []
        for i in sel:
            rec: dict = {
                "account_id": w.account_id[w.enf_acct[i]].decode(),
                "decided_at": F.fmt_ms(int(w.enf_ms[i])),
                "action": C.ACTIONS[w.enf_action[i]],
                "reason": C.REASONS[w.enf_reason[i]],
            }
            case = w.enf_case[i]
            if case >= 0:
                rec["case_id"] = w.cases[case]
            elif rng.random() < 0.5:
                rec["case_id"] = None
            if rng.random() < 0.05:
                rec["analyst_team"] = "ts-emea" if rng.random() < 0.5 else "ts-amer"
            lines.append(orjson.dumps(rec).decode() + "\n")
        lag = w.enf_lag[sel].astype(np.int64)
        # A broken line is an extra mangled twin of a decision (the case tool retried the
        # export), never the decision itself: labels are partial by design, not by accident.
        twin = np.flatnonzero(rng.random(len(sel)) < F.RATES["enforcement"].broken)
        order = np.argsort(np.concatenate([np.arange(len(sel)), twin + 0.5]), kind="stable")
        src = np.concatenate([np.arange(len(sel)), twin])[order]
        is_twin = np.concatenate([np.zeros(len(sel), bool), np.ones(len(twin), bool)])[order]
        lines = [lines[i] for i in src]
        lag = lag[src]
        n = len(src)
        p = F.plan("enforcement", rng, lag, n, np.zeros(n, bool))
        names = list(F.KINDS["enforcement"])
        wts = np.array([F.KINDS["enforcement"][k] for k in names], dtype=np.float64)
        twin_kind = np.array(names, dtype=object)[rng.choice(len(names), n, p=wts / wts.sum())]
        p.kind = np.where(is_twin, twin_kind, "")
        p.dup_same &= ~is_twin
        p.dup_later = np.where(is_twin, 0, p.dup_later)
        text = pa.array(lines, pa.string())
        self.deliver("enforcement", 7, n, lambda a, b, r: text[a:b], p, np.full(n, d, np.int64))


def _with_offset(ms: int, minutes: int) -> str:
    return R.ts_matrix(np.array([ms]), np.array([minutes])).view("S29")[0, 0].decode()


def _truth(w: World, lake: Path, merged: DayResult) -> dict:
    out = lake / "_truth"
    out.mkdir(parents=True, exist_ok=True)
    days = [w.start + dt.timedelta(days=i) for i in range(w.days)]
    counts: dict[str, dict] = {}
    totals: dict[str, dict[str, int]] = {}
    for s in SOURCES:
        per: dict[str, dict] = {}
        tot = {"lines_written": 0, "duplicates": 0, "broken": 0, "accepted": 0}
        for i, day in enumerate(days):
            c = merged.counts.get((s, i), F.Counts())
            row = {
                "lines_written": c.lines,
                "duplicates": c.duplicates,
                "broken": c.broken,
                "accepted": c.lines - c.duplicates - c.broken,
                "broken_by_kind": dict(sorted(merged.kinds.get((s, i), {}).items())),
            }
            per[day.isoformat()] = row
            for k in tot:
                tot[k] += row[k]
        counts[s] = per
        totals[s] = tot
    (out / "counts.json").write_bytes(
        orjson.dumps({"sources": counts, "totals": totals}, option=orjson.OPT_INDENT_2)
    )
    # accounts: role, population, campaign, strategy and whether any label landed in the window
    landed = (w.enf_day + w.enf_lag) < w.days
    labelled = np.zeros(w.n, bool)
    labelled[w.enf_acct[landed]] = True
    distill = landed & (w.enf_reason == C.R_DISTILL) & (w.enf_action != C.A_REINSTATE)
    first_label = np.full(w.n, np.iinfo(np.int64).max)
    np.minimum.at(first_label, w.enf_acct[distill], w.enf_ms[distill])
    att = w.camp >= 0
    cids = np.array([c.cid for c in w.campaigns] + [""], dtype=object)
    strat = np.array([c.strategy for c in w.campaigns] + [""], dtype=object)
    camp_i = np.where(att, w.camp, len(w.campaigns))
    population = np.where(att, cids[camp_i], np.array(C.POPS, dtype=object)[w.pop])
    has_org = w.org >= 0
    org = pa.array(
        w.org_id[np.maximum(w.org, 0)] if len(w.org_id) else np.full(w.n, b""), mask=~has_org
    ).cast(pa.string())
    table = pa.table(
        {
            "account_id": pa.array(w.account_id).cast(pa.string()),
            "role": pa.array(np.where(att, "attacker", "legit").astype(object), pa.string()),
            "population": pa.array(population, pa.string()),
            "campaign_id": pa.array(np.where(att, cids[camp_i], None), pa.string()),
            "strategy": pa.array(np.where(att, strat[camp_i], None), pa.string()),
            "labelled": pa.array(labelled),
            "wrongly_banned": pa.array(w.wrong_ban),
            "first_distillation_label_at": pa.array(
                np.where(first_label < np.iinfo(np.int64).max, first_label, 0).astype(
                    "datetime64[ms]"
                ),
                mask=first_label == np.iinfo(np.int64).max,
                type=pa.timestamp("ms", tz="UTC"),
            ),
            "org_id": org,
            "created_at": pa.array(
                w.created.astype("datetime64[ms]"), type=pa.timestamp("ms", tz="UTC")
            ),
            "handover_at": pa.array(
                np.maximum(w.handover, 0).astype("datetime64[ms]"),
                mask=w.handover < 0,
                type=pa.timestamp("ms", tz="UTC"),
            ),
        }
    )
    # sorted by id so that row order says nothing about role
    table = table.take(pa.array(np.argsort(w.account_id, kind="stable")))
    pq.write_table(table, out / "accounts.parquet", compression="zstd")
    releases = {
        C.MODELS[C.FAMILY_NEW[f]]: (w.start + dt.timedelta(days=r)).isoformat()
        for f, r in enumerate(w.release_day)
        if r is not None and r < w.days
    }
    camps = []
    for c in w.campaigns:
        waves = [
            {
                "day": (w.start + dt.timedelta(days=v["day"])).isoformat(),
                "case_id": v["case_id"],
                "n_banned": v["n_banned"],
            }
            for v in c.waves
        ]
        camps.append(
            {
                "id": c.cid,
                "strategy": c.strategy,
                "start_day": (w.start + dt.timedelta(days=c.start_day)).isoformat(),
                "end_day": (
                    (w.start + dt.timedelta(days=c.end_day)).isoformat()
                    if c.end_day <= w.days
                    else None
                ),
                "n_accounts": len(c.accounts),
                "n_accounts_labelled": int(labelled[c.accounts].sum()),
                "labelled_in_window": bool(labelled[c.accounts].any()),
                "n_templates": c.n_templates,
                "expected_lines": round(float(c.volume.sum())),
                "waves": waves,
                "model_release_days": releases,
            }
        )
    (out / "campaigns.json").write_bytes(orjson.dumps(camps, option=orjson.OPT_INDENT_2))
    manifest = {
        "seed": w.seed,
        "scale": w.scale,
        "start": w.start.isoformat(),
        "days": w.days,
        "accounts": w.n,
        "attacker_accounts": int(att.sum()),
        "model_release_days": releases,
        "totals": totals,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return totals


def _prepare(lake: Path, overwrite: bool) -> None:
    ours = [lake / "raw" / s for s in SOURCES] + [lake / "_truth"]
    present = [p for p in ours if p.exists() and any(p.iterdir())]
    if present and not overwrite:
        raise FileExistsError(
            f"{present[0]} is not empty; pass overwrite=True to replace the "
            "generated raw zone and truth"
        )
    for p in present:
        shutil.rmtree(p)


def generate(
    lake: str | Path,
    start: dt.date,
    days: int,
    scale: str,
    seed: int,
    progress: bool = True,
    workers: int | None = None,
    overwrite: bool = False,
    gzip_level: int = GZIP_LEVEL,
) -> dict:
    """Write `<lake>/raw/{interactions,accounts,enforcement}` and `<lake>/_truth/`.

    Deterministic for (start, days, scale, seed): the same files byte for byte. `workers` days
    are generated at once (threads; default: up to 2). Refuses to write into a non-empty raw
    zone unless `overwrite` (which deletes only the three raw sources and `_truth`).
    `gzip_level` (ISA-L, 0-3) trades disk for speed; the content is the same.
    """
    t0 = time.perf_counter()
    lake = Path(lake)
    if isinstance(start, str):
        start = dt.date.fromisoformat(start)
    _prepare(lake, overwrite)
    w = World(seed, start, days, scale)
    rend = Renderer(w)
    workers = workers or min(2, os.cpu_count() or 1)
    merged = DayResult()
    bar = tqdm(
        total=days, desc=f"generate {scale}", unit="day", file=sys.stderr, disable=not progress
    )
    lines_done = 0

    def task(d: int) -> DayResult:
        return _Day(w, rend, lake, d, gzip_level).run()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for res in pool.map(task, range(days)):
            for key, c in res.counts.items():
                merged.counts.setdefault(key, F.Counts()).add(c)
                if key[0] == "interactions":
                    lines_done += c.lines
            for key, k in res.kinds.items():
                acc = merged.kinds.setdefault(key, {})
                for name, v in k.items():
                    acc[name] = acc.get(name, 0) + v
            merged.files += res.files
            bar.update(1)
            bar.set_postfix(lines=f"{lines_done:,}")
    bar.close()
    totals = _truth(w, lake, merged)
    seconds = time.perf_counter() - t0
    lines = {s: totals[s]["lines_written"] for s in SOURCES}
    all_lines = sum(lines.values())
    return {
        "lake": str(lake),
        "truth": str(lake / "_truth"),
        "scale": scale,
        "seed": seed,
        "start": start.isoformat(),
        "days": days,
        "accounts": w.n,
        "lines": lines,
        "accepted": {s: totals[s]["accepted"] for s in SOURCES},
        "files": merged.files,
        "seconds": round(seconds, 3),
        "lines_per_second": round(all_lines / seconds) if seconds > 0 else None,
    }
