"""Tests of the synthetic raw-zone generator (`simulator.generate`).

The contract checker below is written from LAKE.md alone and shares no code with the generator:
it re-derives, line by line, what the pipeline must quarantine and drop as duplicate, and the
generator's ground truth must agree with it exactly.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import ipaddress
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulator import generate

START = dt.date(2026, 4, 22)
DAYS = 10

# ---- an independent reading of LAKE.md ------------------------------------------------------

TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
SIMHASH_RE = re.compile(r"^[0-9a-fA-F]{16}$")
IP_TYPES = {"residential", "mobile", "business", "education", "datacenter", "vpn_proxy"}
TOPICS = {
    "coding",
    "math_reasoning",
    "agentic_tools",
    "data_analysis",
    "writing",
    "chat",
    "vision",
    "translation",
    "other",
}

# field -> (kind, required, allowed values for a required enum)
SCHEMA: dict[str, dict[str, tuple]] = {
    "interactions": {
        "request_id": ("id", True),
        "ts": ("ts", True),
        "account_id": ("id", True),
        "api_key_id": ("id", True),
        "org_id": ("str", False),
        "model": ("str", True),
        "endpoint": ("enum", True, {"messages", "batches"}),
        "client_ip": ("ip", True),
        "ip_asn": ("int", False),
        "ip_type": ("str", False),
        "country": ("str", False),
        "user_agent": ("str", False),
        "input_tokens": ("int0", True),
        "output_tokens": ("int0", True),
        "thinking_enabled": ("bool", False),
        "tool_count": ("int0", False),
        "has_image": ("bool", False),
        "turns": ("int1", False),
        "prompt_simhash": ("simhash", True),
        "system_prompt_hash": ("str", False),
        "topic": ("str", False),
        "cot_request_score": ("prob", False),
        "status": ("enum", True, {200, 400, 429, 500, 529}),
        "latency_ms": ("int0", False),
    },
    "accounts": {
        "account_id": ("id", True),
        "org_id": ("str", False),
        "created_at": ("ts", True),
        "updated_at": ("ts", True),
        "signup_channel": (
            "enum",
            True,
            {
                "self_serve",
                "education",
                "startup_program",
                "research_program",
                "enterprise_sales",
                "reseller",
            },
        ),
        "payment_fingerprint": ("str", False),
        "email_domain": ("str", True),
        "billing_country": ("str", False),
        "tier": ("enum", True, {"free", "build", "scale", "enterprise"}),
        "verified": ("bool", True),
    },
    "enforcement": {
        "account_id": ("id", True),
        "decided_at": ("ts", True),
        "action": ("enum", True, {"ban", "suspend", "reinstate"}),
        "reason": (
            "enum",
            True,
            {"distillation", "payment_fraud", "other_abuse", "appeal_granted"},
        ),
        "case_id": ("str", False),
    },
}
RECORD_TIME = {"interactions": "ts", "accounts": "updated_at", "enforcement": "decided_at"}


def parse_ts(v: object) -> dt.datetime | None:
    if not isinstance(v, str) or not TS_RE.match(v):
        return None
    try:
        return dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        return None


def _no_constants(name: str) -> None:
    raise ValueError(f"bare {name} is not JSON")


def field_ok(kind: str, v: object, allowed: set | None) -> bool:
    if kind == "id":
        return isinstance(v, str) and v != ""
    if kind == "str":
        return isinstance(v, str)
    if kind == "enum":
        return type(v) in (str, int) and v in allowed
    if kind == "ts":
        return parse_ts(v) is not None
    if kind == "ip":
        try:
            ipaddress.ip_address(v)
            return True
        except ValueError:
            return False
    if kind in ("int", "int0", "int1"):
        if type(v) is not int:
            return False
        return v >= {"int": -(2**63), "int0": 0, "int1": 1}[kind]
    if kind == "bool":
        return type(v) is bool
    if kind == "prob":
        return type(v) in (int, float) and 0 <= v <= 1
    if kind == "simhash":
        return isinstance(v, str) and SIMHASH_RE.match(v) is not None
    raise AssertionError(kind)


def check_line(
    source: str, line: str, land: dt.date, first_day: dt.date
) -> tuple[dict | None, str]:
    """(parsed record, "") for a valid line; (None, reason) for a line to quarantine."""
    try:
        rec = json.loads(line, parse_constant=_no_constants)
    except ValueError:
        return None, "invalid_json"
    if not isinstance(rec, dict):
        return None, "invalid_json"
    for name, spec in SCHEMA[source].items():
        kind, required = spec[0], spec[1]
        v = rec.get(name)
        if v is None:
            if required:
                return None, f"missing:{name}"
            continue
        if not required and v == "":
            continue  # empty optional string is null
        if not field_ok(kind, v, spec[2] if len(spec) > 2 else None):
            return None, f"bad:{name}"
    t = parse_ts(rec[RECORD_TIME[source]])
    day0 = dt.datetime(land.year, land.month, land.day, tzinfo=dt.UTC)
    if t >= day0 + dt.timedelta(days=1):
        return None, "future_ts"
    snapshot = source == "accounts" and land == first_day
    if t < day0 - dt.timedelta(days=3) and not snapshot:
        return None, "too_late"
    return rec, ""


def dedup_key(source: str, rec: dict) -> tuple:
    if source == "interactions":
        return (rec["request_id"],)
    if source == "accounts":
        return rec["account_id"], parse_ts(rec["updated_at"])
    return rec["account_id"], parse_ts(rec["decided_at"]), rec["action"]


def read_lines(path: Path) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [ln for ln in f.read().split("\n") if ln.strip()]


def audit(lake: Path, source: str) -> tuple[dict[str, Counter], list[dict]]:
    """Per landed day: lines, broken, duplicates, accepted; plus the accepted records."""
    root = lake / "raw" / source
    folders = sorted(root.glob("date=*"))
    first = min(
        dt.date.fromisoformat(p.name[5:]) for p in (lake / "raw" / "accounts").glob("date=*")
    )
    seen: set = set()
    out: dict[str, Counter] = {}
    accepted: list[dict] = []
    for folder in folders:
        land = dt.date.fromisoformat(folder.name[5:])
        c = Counter()
        for f in sorted(folder.glob("*.jsonl.gz")):
            for line in read_lines(f):
                c["lines"] += 1
                rec, reason = check_line(source, line, land, first)
                if rec is None:
                    c["broken"] += 1
                    c["reason:" + reason.split(":")[0]] += 1
                    continue
                key = dedup_key(source, rec)
                if key in seen:
                    c["duplicates"] += 1
                    continue
                seen.add(key)
                c["accepted"] += 1
                rec["_land"] = land
                accepted.append(rec)
        out[land.isoformat()] = c
    return out, accepted


# ---- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lake")
    summary = generate(root, START, DAYS, "tiny", seed=11, progress=False)
    assert summary["lines"]["interactions"] > 3_000 * DAYS
    return root


@pytest.fixture(scope="module")
def truth(lake: Path) -> pd.DataFrame:
    return pd.read_parquet(lake / "_truth" / "accounts.parquet")


@pytest.fixture(scope="module")
def audits(lake: Path) -> dict[str, tuple[dict[str, Counter], list[dict]]]:
    return {s: audit(lake, s) for s in ("interactions", "accounts", "enforcement")}


@pytest.fixture(scope="module")
def interactions(audits: dict, truth: pd.DataFrame) -> pd.DataFrame:
    df = pd.DataFrame(audits["interactions"][1])
    df["t"] = pd.to_datetime(df["ts"], utc=True, format="ISO8601")
    return df.merge(truth, on="account_id", how="left")


# ---- the checker itself (hand-written lines with known answers) -------------------------------

GOOD = (
    '{"request_id":"r1","ts":"2026-04-22T10:00:00.000Z","account_id":"a","api_key_id":"k",'
    '"model":"m","endpoint":"messages","client_ip":"1.2.3.4","input_tokens":1,'
    '"output_tokens":2,"prompt_simhash":"00ff00ff00ff00ff","status":200}'
)


@pytest.mark.parametrize(
    "edit, reason",
    [
        ({}, ""),
        ({"extra_column": 1, "ip_type": "hosting", "topic": "legal", "org_id": ""}, ""),
        ({"ts": "2026-04-22T12:00:00.000+02:00"}, ""),
        ({"ts": "2026-04-19T00:00:00.000Z"}, ""),  # exactly 3 days before: still in time
        ({"input_tokens": "12"}, "bad"),
        ({"input_tokens": 12.5}, "bad"),
        ({"output_tokens": -1}, "bad"),
        ({"status": 418}, "bad"),
        ({"endpoint": "x"}, "bad"),
        ({"account_id": ""}, "bad"),
        ({"prompt_simhash": "00ff"}, "bad"),
        ({"model": None}, "missing"),
        ({"ts": "2026-04-23T00:00:00.000Z"}, "future_ts"),
        ({"ts": "2026-04-18T23:59:59.999Z"}, "too_late"),
    ],
)
def test_checker_classifies_hand_written_lines(edit: dict, reason: str) -> None:
    rec = json.loads(GOOD)
    rec.update(edit)
    got, why = check_line("interactions", json.dumps(rec), START, START)
    assert why.split(":")[0] == reason
    assert (got is None) == bool(reason)


def test_checker_rejects_nan_and_truncation() -> None:
    assert (
        check_line(
            "interactions", GOOD.replace('"input_tokens":1', '"input_tokens":NaN'), START, START
        )[1]
        == "invalid_json"
    )
    assert check_line("interactions", GOOD[:40], START, START)[1] == "invalid_json"


# ---- the contract test ----------------------------------------------------------------------


@pytest.mark.parametrize("source", ["interactions", "accounts", "enforcement"])
def test_every_line_matches_truth_counts(lake: Path, audits: dict, source: str) -> None:
    counts = json.loads((lake / "_truth" / "counts.json").read_text())["sources"][source]
    found = audits[source][0]
    assert len(counts) == DAYS
    for day, t in counts.items():
        c = found.get(day, Counter())
        assert c["lines"] == t["lines_written"], (day, c, t)
        assert c["broken"] == t["broken"], (day, c, t)
        assert c["duplicates"] == t["duplicates"], (day, c, t)
        assert c["accepted"] == t["accepted"] == t["lines_written"] - t["broken"] - t["duplicates"]
    # real content, not vacuous equality: faults of many kinds actually happened
    total = sum(found.values(), Counter())
    assert total["accepted"] > 0 and total["broken"] > 0 and total["duplicates"] > 0
    if source == "interactions":
        reasons = {k for k in total if k.startswith("reason:")}
        assert {
            "reason:invalid_json",
            "reason:bad",
            "reason:missing",
            "reason:future_ts",
            "reason:too_late",
        } <= reasons


def test_delivery_faults_are_present(lake: Path, audits: dict) -> None:
    acc = audits["interactions"][1]
    utc = dt.UTC
    land_minus_ts = Counter(
        (r["_land"] - parse_ts(r["ts"]).astimezone(utc).date()).days for r in acc
    )
    assert set(land_minus_ts) == {0, 1, 2, 3}  # late landings, never beyond the bound
    assert any(not r["ts"].endswith("Z") for r in acc)  # non-Z offsets
    assert any("service_tier" in r or "gateway_region" in r for r in acc)  # unknown columns
    assert any(r.get("org_id") == "" for r in acc) and any("user_agent" not in r for r in acc)
    assert any(r.get("topic") not in TOPICS | {None} for r in acc)
    assert any(r.get("ip_type") not in IP_TYPES | {None} for r in acc)
    # a duplicate landing on a later day than the accepted copy
    first_land: dict[str, dt.date] = {r["request_id"]: r["_land"] for r in acc}
    later = 0
    for folder in sorted((lake / "raw" / "interactions").glob("date=*")):
        land = dt.date.fromisoformat(folder.name[5:])
        for f in folder.glob("*.jsonl.gz"):
            for line in read_lines(f):
                rid = re.search(r'"request_id":"([^"]+)"', line)
                if rid and first_land.get(rid.group(1), land) < land:
                    later += 1
    assert later > 0
    # whitespace-only lines exist in files but are not lines
    blank = 0
    for p in (lake / "raw").rglob("*.jsonl.gz"):
        with gzip.open(p) as f:
            blank += sum(1 for ln in f.read().split(b"\n")[:-1] if not ln.strip())
    assert blank > 0


# ---- registry, labels ------------------------------------------------------------------------


def test_registry_snapshot_and_late_records(
    lake: Path, audits: dict, truth: pd.DataFrame, interactions: pd.DataFrame
) -> None:
    reg = pd.DataFrame(audits["accounts"][1])
    first = reg[reg["_land"] == START]
    existed = truth[truth.created_at < pd.Timestamp(START, tz="UTC")]
    # the first landed day is a full snapshot (a few snapshot lines are broken on purpose)
    assert first.account_id.nunique() >= 0.98 * len(existed)
    later = reg[reg["_land"] > START]
    assert (later.groupby("account_id").size() > 0).any()
    assert later.account_id.isin(existed.account_id).any()  # updates of existing accounts
    # some accounts send requests before their registry record lands
    first_reg = reg.groupby("account_id")["_land"].min()
    first_req = interactions.groupby("account_id")["t"].min().dt.date
    both = first_reg.to_frame("reg").join(first_req.rename("req"), how="inner")
    assert (both.req < both.reg).sum() > 0


def test_labels_are_delayed_partial_and_sometimes_wrong(
    lake: Path, audits: dict, truth: pd.DataFrame, interactions: pd.DataFrame
) -> None:
    enf = pd.DataFrame(audits["enforcement"][1])
    enf["t"] = pd.to_datetime(enf.decided_at, utc=True, format="ISO8601")
    enf = enf.merge(truth[["account_id", "role", "campaign_id"]], on="account_id")
    ban = enf[enf.reason.eq("distillation") & enf.action.isin(["ban", "suspend"])]
    assert (ban.role == "attacker").sum() >= 20
    # delayed: decided days after the account's first request
    first_req = interactions.groupby("account_id")["t"].min()
    caught = ban[ban.role == "attacker"]
    delay = caught.set_index("account_id")["t"] - first_req.reindex(caught.account_id)
    assert delay.notna().sum() >= 20
    assert delay.dropna().dt.total_seconds().min() > 2 * 86400
    # judged together: a case covers many accounts
    assert ban.groupby("case_id").account_id.nunique().max() >= 5
    # partial: some campaign is never labelled, and labels miss many attackers
    camps = json.loads((lake / "_truth" / "campaigns.json").read_text())
    assert any(not c["labelled_in_window"] for c in camps)
    assert 0.05 < truth[truth.role == "attacker"].labelled.mean() < 0.9
    # wrong: a legit account banned for distillation, later reinstated on appeal
    wrong = ban[ban.role == "legit"].account_id
    back = enf[(enf.action == "reinstate") & (enf.reason == "appeal_granted")].account_id
    assert len(set(wrong) & set(back)) >= 1
    assert truth.labelled.sum() == enf.account_id.nunique()


# ---- properties a detector relies on, and its traps -------------------------------------------


def _simhash(df: pd.DataFrame) -> pd.DataFrame:
    out = df[["account_id", "prompt_simhash"]].drop_duplicates().copy()
    out["h"] = out.prompt_simhash.map(lambda s: int(s, 16)).astype(np.uint64)
    return out


def _near_dup_share(
    df: pd.DataFrame, rng: np.random.Generator, k: int = 40, radius: int = 3
) -> float:
    """Share of (sampled) accounts with a hash within Hamming `radius` of another account's."""
    h = _simhash(df)
    accts = h.account_id.unique()
    pick = rng.choice(accts, size=min(k, len(accts)), replace=False)
    hits = 0
    for a in pick:
        mine = h.h[h.account_id == a].to_numpy()[:30]
        other = h.h[h.account_id != a].to_numpy()
        dist = np.bitwise_count(mine[:, None] ^ other[None, :])
        hits += bool((dist <= radius).any())
    return hits / len(pick)


def test_campaign_accounts_share_near_duplicate_prompts(interactions: pd.DataFrame) -> None:
    rng = np.random.default_rng(0)
    att = interactions[interactions.role == "attacker"]
    assert att.campaign_id.nunique() >= 5
    for _cid, g in att.groupby("campaign_id"):
        if g.strategy.iloc[0] != "quiet_paraphrase":  # paraphrases: the next test
            assert _near_dup_share(g, rng) >= 0.8
    # negative control: individuals send random prompts
    ind = interactions[interactions.population == "individual"]
    assert _near_dup_share(ind, rng, k=200) <= 0.2


def test_quiet_campaign_paraphrases_over_many_home_networks(interactions: pd.DataFrame) -> None:
    """A few requests a day per account, over many residential and mobile /24s and ASNs, with
    paraphrased templates: other accounts' prompts sit a few bits away (within 11), seldom
    within the 3 bits of a filled-in template."""
    rng = np.random.default_rng(2)
    quiet = interactions[interactions.strategy == "quiet_paraphrase"].copy()
    hydra = interactions[interactions.strategy == "hydra"].copy()
    ind = interactions[interactions.population == "individual"]
    assert quiet.account_id.nunique() >= 30
    assert _near_dup_share(quiet, rng, radius=11) >= 0.8
    assert _near_dup_share(quiet, rng, radius=3) <= 0.3
    assert _near_dup_share(hydra, rng, radius=3) >= 0.8  # filled-in templates: identical bands
    assert _near_dup_share(ind, rng, k=200, radius=11) <= 0.2  # random prompts: neither

    def per_account(df: pd.DataFrame) -> pd.DataFrame:
        df["p24"] = df.client_ip.str.rsplit(".", n=1).str[0]
        g = df.groupby("account_id")
        return pd.DataFrame(
            {
                "per_day": g.size() / g.t.agg(lambda t: t.dt.date.nunique()),
                "p24": g.p24.nunique(),
                "asn": g.ip_asn.nunique(),
            }
        )

    q, h = per_account(quiet), per_account(hydra)
    assert q.per_day.median() <= 5 < h.per_day.median()
    assert q.p24.median() >= 8 and q.asn.median() >= 5
    assert quiet.ip_type.dropna().isin(["residential", "mobile"]).mean() >= 0.95
    assert quiet.ip_type.eq("mobile").mean() > 0.05 and quiet.ip_asn.nunique() >= 20
    assert quiet.system_prompt_hash.isna().all() and not hydra.system_prompt_hash.isna().all()


def test_reseller_blend_hides_inside_a_real_resellers_customers(
    audits: dict, interactions: pd.DataFrame
) -> None:
    blend = interactions[interactions.strategy == "reseller_blend"].copy()
    cust = interactions[interactions.population == "reseller_customer"].copy()
    hydra = interactions[interactions.strategy == "hydra"].copy()
    assert blend.account_id.nunique() >= 10
    for df in (blend, cust, hydra):
        df["p24"] = df.client_ip.str.rsplit(".", n=1).str[0]
    # one established reseller's org, its datacenter /24s and its client
    reg = pd.DataFrame(audits["accounts"][1]).drop_duplicates("account_id")
    org = reg.set_index("account_id").org_id
    orgs = org.reindex(blend.account_id.unique()).dropna().unique()
    assert len(orgs) == 1
    mine = cust[cust.account_id.map(org) == orgs[0]]
    assert mine.account_id.nunique() >= 10
    assert blend.p24.isin(set(mine.p24)).mean() >= 0.95
    assert blend.ip_type.dropna().eq("datacenter").mean() >= 0.95
    assert blend.user_agent.dropna().mode().iloc[0] == mine.user_agent.dropna().mode().iloc[0]
    assert hydra.p24.isin(set(mine.p24)).mean() < 0.05  # negative control
    assert set(reg[reg.account_id.isin(blend.account_id)].signup_channel) == {"reseller"}
    # part of their traffic is the ordinary customer traffic they hide in
    low = (blend.cot_request_score < 0.3).mean()
    assert 0.1 < low < (cust.cot_request_score < 0.3).mean()
    assert (hydra.cot_request_score < 0.3).mean() < 0.05


def test_aged_accounts_have_an_ordinary_past(
    audits: dict, truth: pd.DataFrame, interactions: pd.DataFrame
) -> None:
    aged = interactions[interactions.strategy == "aged_accounts"]
    assert aged.account_id.nunique() >= 20
    reg = pd.DataFrame(audits["accounts"][1]).drop_duplicates("account_id")
    created = pd.to_datetime(reg.set_index("account_id").created_at, utc=True, format="ISO8601")
    first = aged.groupby("account_id").t.min()
    age = (first - created.reindex(first.index)).dt.days.dropna()
    assert len(age) >= 20 and age.min() >= 60
    hydra = interactions[interactions.strategy == "hydra"]
    h_first = hydra.groupby("account_id").t.min()
    assert (h_first - created.reindex(h_first.index)).dt.days.dropna().median() < 15
    # before the handover: the owner's home line and ordinary prompts; after: the operator's
    before = aged[aged.t < aged.handover_at]
    after = aged[aged.t >= aged.handover_at]
    assert len(before) >= 10 and len(after) > 10 * len(before)
    assert before.ip_type.dropna().eq("residential").mean() >= 0.95
    assert before.cot_request_score.mean() < 0.3 < after.cot_request_score.mean()
    assert truth[truth.strategy == "aged_accounts"].handover_at.notna().all()
    assert truth[truth.strategy != "aged_accounts"].handover_at.isna().all()


def test_hackathons_sign_up_together_and_build_for_a_weekend(
    audits: dict, interactions: pd.DataFrame
) -> None:
    hack = interactions[interactions.population == "hackathon"]
    reg = pd.DataFrame(audits["accounts"][1]).drop_duplicates("account_id")
    created = pd.to_datetime(reg.set_index("account_id").created_at, utc=True, format="ISO8601")
    accts = hack.account_id.unique()
    signup = created.reindex(accts).dropna()
    cohort = signup.dt.date.value_counts()
    assert cohort.max() >= 10  # one cohort signs up on one day, within a few hours
    day = cohort.idxmax()
    members = signup[signup.dt.date == day]
    assert members.max() - members.min() <= pd.Timedelta(hours=4)
    assert members.dt.dayofweek.iloc[0] == 5
    # its traffic: that weekend, with the starter kit's system prompt
    lines = hack[hack.account_id.isin(members.index)]
    weekend = lines.t.dt.date.isin([day, day + dt.timedelta(days=1)])
    assert weekend.mean() >= 0.8
    kit = lines.system_prompt_hash.dropna().mode().iloc[0]
    assert lines[lines.system_prompt_hash == kit].account_id.nunique() >= 0.8 * len(members)
    # negative control: individuals have neither a sign-up day nor a system prompt in common
    ind = interactions[interactions.population == "individual"]
    ind_sp = ind.system_prompt_hash.dropna()
    assert ind[ind.system_prompt_hash == ind_sp.mode().iloc[0]].account_id.nunique() == 1


def test_only_some_strategies_are_labelled(truth: pd.DataFrame) -> None:
    att = truth[truth.role == "attacker"]
    share = att.groupby("strategy").labelled.mean()
    assert set(share.index) == {
        "hydra",
        "quiet_paraphrase",
        "release_chaser",
        "reseller_blend",
        "aged_accounts",
    }
    assert share["quiet_paraphrase"] == 0
    assert (share.drop("quiet_paraphrase") > 0).all() and (share < 0.9).all()
    assert att.campaign_id.notna().all() and truth[truth.role == "legit"].strategy.isna().all()


def test_university_classes_share_prefix_and_signup_day(
    audits: dict, interactions: pd.DataFrame
) -> None:
    uni = interactions[
        (interactions.population == "university_class") & (interactions.ip_type == "education")
    ].copy()
    uni["p24"] = uni.client_ip.str.rsplit(".", n=1).str[0]
    home = uni.groupby("account_id").p24.agg(lambda s: s.mode().iloc[0])
    reg = pd.DataFrame(audits["accounts"][1]).drop_duplicates("account_id")
    signup = pd.to_datetime(
        reg.set_index("account_id").created_at, utc=True, format="ISO8601"
    ).dt.date
    cohort = home.to_frame("p24").join(signup.rename("day"), how="inner")
    sizes = cohort.groupby(["p24", "day"]).size()
    assert sizes.max() >= 15  # a class: one campus /24, one sign-up day
    assert (cohort.groupby(["p24", "day"]).transform("size") >= 10).mean() >= 0.8
    # negative control: individuals do not cluster like that
    ind = interactions[interactions.population == "individual"].copy()
    ind["p24"] = ind.client_ip.str.rsplit(".", n=1).str[0]
    ind_home = ind.groupby("account_id").p24.agg(lambda s: s.mode().iloc[0])
    ind_c = ind_home.to_frame("p24").join(signup.rename("day"), how="inner")
    assert ind_c.groupby(["p24", "day"]).size().max() < 5


def test_eval_labs_send_templated_reasoning_heavy_prompts(interactions: pd.DataFrame) -> None:
    def profile(df: pd.DataFrame) -> dict[str, float]:
        counts = df.prompt_simhash.str.lower().map(df.prompt_simhash.str.lower().value_counts())
        return {
            "repeat": float((counts > 1).mean()),
            "reasoning": float(df.topic.isin(["math_reasoning", "coding", "agentic_tools"]).mean()),
            "thinking": float(df.thinking_enabled.astype(float).mean()),
            "cot": float(df.cot_request_score.mean()),
        }

    ev = profile(interactions[interactions.population == "eval_lab"])
    ind = profile(interactions[interactions.population == "individual"])
    assert ev["repeat"] >= 0.5 and ev["reasoning"] >= 0.8
    assert ev["thinking"] >= 0.5 and ev["cot"] >= 0.5
    assert ind["repeat"] < 0.1 and ind["cot"] < 0.3  # the contrast a naive rule keys on


def test_release_chaser_moves_on_release_day(lake: Path, interactions: pd.DataFrame) -> None:
    rel = json.loads((lake / "_truth" / "manifest.json").read_text())["model_release_days"]
    model, day = next(iter(rel.items()))
    day = dt.date.fromisoformat(day)
    ch = interactions[interactions.strategy == "release_chaser"]
    before = ch[ch.t.dt.date == day - dt.timedelta(days=1)]
    after = ch[ch.t.dt.date == day + dt.timedelta(days=1)]
    assert len(before) > 20 and len(after) > 20
    assert (before.model == model).mean() == 0
    assert (after.model == model).mean() >= 0.8
    legit = interactions[
        (interactions.role == "legit") & (interactions.t.dt.date == day + dt.timedelta(days=1))
    ]
    assert (legit.model == model).mean() < 0.5  # everybody else adopts slowly


def _id_auc(ids: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> float:
    """Held-out AUC of a character-frequency (naive Bayes) model trained on ids alone."""
    alphabet = sorted({ch for s in ids for ch in s})
    ix = {ch: i for i, ch in enumerate(alphabet)}
    counts = np.zeros((len(ids), len(alphabet)))
    for r, s in enumerate(ids):
        for ch in s:
            counts[r, ix[ch]] += 1
    train = rng.random(len(ids)) < 0.5
    logp = [
        np.log(
            (counts[train & (y == k)].sum(0) + 1) / (counts[train & (y == k)].sum() + len(alphabet))
        )
        for k in (0, 1)
    ]
    score = counts[~train] @ (logp[1] - logp[0])
    yt = y[~train]
    ranks = pd.Series(score).rank().to_numpy()
    n1, n0 = yt.sum(), (1 - yt).sum()
    return float((ranks[yt == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def test_ids_do_not_reveal_role(truth: pd.DataFrame) -> None:
    rng = np.random.default_rng(1)
    ids = truth.account_id.to_numpy()
    y = (truth.role == "attacker").to_numpy().astype(int)
    assert truth.account_id.str.len().nunique() == 1
    assert 0.4 < _id_auc(ids, y, rng) < 0.6
    # negative control: the same model does catch a leak of one character's frequency
    leaky = np.array([s[:-3] + "zzz" if a else s for s, a in zip(ids, y, strict=True)])
    assert _id_auc(leaky, y, rng) > 0.9
    # the roles share e-mail providers, networks and clients
    att = set(truth.population[truth.role == "attacker"])
    assert att  # populations of attackers are campaign ids, not hints in the data


def test_roles_share_networks_domains_and_clients(
    audits: dict, truth: pd.DataFrame, interactions: pd.DataFrame
) -> None:
    reg = pd.DataFrame(audits["accounts"][1]).merge(truth[["account_id", "role"]], on="account_id")
    by_role = reg.groupby("role").email_domain.agg(set)
    assert "gmail.com" in by_role["attacker"] & by_role["legit"]
    for col in ("ip_asn", "user_agent", "ip_type"):
        vals = interactions.groupby("role")[col].agg(lambda s: set(s.dropna()))
        assert len(vals["attacker"] & vals["legit"]) >= 2, col
    dc = interactions[interactions.ip_type == "datacenter"]
    assert (dc.role == "legit").mean() > 0.3  # legit users also come from datacenters


# ---- determinism ------------------------------------------------------------------------------


def _tree_hash(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", START, 3, "tiny", seed=5, progress=False, workers=2)
    b = generate(tmp_path / "b", START, 3, "tiny", seed=5, progress=False, workers=1)
    generate(tmp_path / "c", START, 3, "tiny", seed=6, progress=False)
    assert a["lines"] == b["lines"] and a["lines"]["interactions"] > 5_000
    ha, hb, hc = (_tree_hash(tmp_path / x) for x in "abc")
    assert ha == hb
    assert hc != ha
    # the same layout of request files (decisions, being few, may land on other days)
    files = sorted(
        p.relative_to(tmp_path / "a")
        for p in (tmp_path / "a" / "raw" / "interactions").rglob("*.gz")
    )
    assert files == sorted(
        p.relative_to(tmp_path / "c")
        for p in (tmp_path / "c" / "raw" / "interactions").rglob("*.gz")
    )
    assert (tmp_path / "a" / files[0]).read_bytes() != (tmp_path / "c" / files[0]).read_bytes()


def test_refuses_to_mix_with_an_existing_raw_zone(lake: Path, tmp_path: Path) -> None:
    with pytest.raises(FileExistsError):
        generate(lake, START, 1, "tiny", seed=11, progress=False)
    out = generate(tmp_path / "x", START, 1, "tiny", seed=1, progress=False)
    again = generate(tmp_path / "x", START, 1, "tiny", seed=1, progress=False, overwrite=True)
    assert out["lines"] == again["lines"]
    by_source: dict[str, int] = defaultdict(int)
    for p in (tmp_path / "x" / "raw").rglob("*.jsonl.gz"):
        by_source[p.parts[-3]] += len(read_lines(p))
    assert dict(by_source) == {k: v for k, v in out["lines"].items() if v}
