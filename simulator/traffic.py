"""One day of API gateway traffic: sampling (numpy columns) and rendering (JSON lines)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from simulator import render as R
from simulator import vocabulary as C
from simulator.world import DAY_MS, HOUR_MS, MIN_MS, World, flip_masks

COLUMNS = (
    "acct",
    "ts",
    "model",
    "endpoint",
    "entry",
    "ip",
    "v6",
    "key",
    "in_tok",
    "out_tok",
    "thinking",
    "tools",
    "image",
    "turns",
    "simhash",
    "sp",
    "topic",
    "cot",
    "status",
    "latency",
)


def sample_day(w: World, d: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """All interactions whose own timestamp falls on day d, sorted by time."""
    p, r = w.intensity(d)
    active = rng.random(w.n) < p
    counts = np.zeros(w.n, np.int64)
    counts[active] = rng.poisson(r[active])
    acct = np.repeat(np.arange(w.n, dtype=np.int64), counts)
    n = len(acct)
    pop = w.pop[acct]
    day0 = w.start_ms + d * DAY_MS

    # time of day: the population's local-time rhythm, shifted by the account's zone
    u = rng.random(n)
    hour = np.zeros(n, np.int64)
    for q in range(C.N_POPS):
        sel = np.flatnonzero(pop == q)
        if len(sel):
            hour[sel] = np.searchsorted(C.HOURLY_CDF[q], u[sel], side="right")
    hour = (np.minimum(hour, 23) - w.tz[acct]) % 24
    ts = day0 + hour * HOUR_MS + (rng.random(n) * HOUR_MS).astype(np.int64)

    # hydra operators fire synchronised bursts across all their accounts
    camp = w.camp[acct]
    for ci, c in enumerate(w.campaigns):
        if not c.bursty:
            continue
        sel = np.flatnonzero((camp == ci) & (rng.random(n) < 0.85))
        if not len(sel):
            continue
        nb = int(rng.integers(8, 15))
        starts = (rng.random(nb) * (DAY_MS - 45 * MIN_MS)).astype(np.int64)
        lens = (rng.uniform(20, 45, nb) * MIN_MS).astype(np.int64)
        j = rng.integers(0, nb, len(sel))
        ts[sel] = day0 + starts[j] + (rng.random(len(sel)) * lens[j]).astype(np.int64)
    # evaluation labs run a benchmark sweep in one block of hours on their sweep days
    spec = w.special[acct]
    start_h = np.where(spec >= 0, w.sweep_start[np.maximum(spec, 0), d], -1).astype(np.int64)
    sel = np.flatnonzero((start_h >= 0) & (rng.random(n) < 0.9))
    if len(sel):
        ts[sel] = (
            day0 + start_h[sel] * HOUR_MS + (rng.random(len(sel)) * 4 * HOUR_MS).astype(np.int64)
        )
    # nobody sends before sign-up or after a ban: the day's intensity already counts only the
    # active part of the day, so move such lines into it rather than lose them
    lo = np.maximum(w.created[acct], day0)
    hi = np.minimum(w.end[acct], day0 + DAY_MS)
    out_of = np.flatnonzero((ts < lo) | (ts >= hi))
    ts[out_of] = lo[out_of] + (
        rng.random(len(out_of)) * np.maximum(hi[out_of] - lo[out_of], 1)
    ).astype(np.int64)
    # ... nor while suspended
    ok = (
        (ts >= w.created[acct])
        & (ts < w.end[acct])
        & ~((ts >= w.pause_from[acct]) & (ts < w.pause_to[acct]))
    )
    order = np.argsort(ts[ok], kind="stable")
    acct, ts = acct[ok][order], ts[ok][order]
    del ok, order, hour, camp, spec, start_h
    n = len(acct)
    # a line of the account's other profile (a bought account's previous owner, a blended
    # attacker's cover traffic) is sampled as that population's line, with no template
    before = ts < w.handover[acct]
    alt = before | (rng.random(n, dtype=np.float32) < w.p_alt[acct])
    pop = np.where(alt, w.alt_pop[acct], w.pop[acct])
    # compact dtypes: a seed-scale day is 1.3 M rows and two days are in flight at once
    out: dict[str, np.ndarray] = {"acct": acct.astype(np.int32), "ts": ts}

    # model: family by population; a new release is adopted at the population's pace
    u = rng.random(n)
    fam = (u > C.FAMILY_CDF[pop, 0]).astype(np.int64) + (u > C.FAMILY_CDF[pop, 1])
    chaser = pop == C.P_RELEASE
    if w.release_ms[1] is not None:  # a release chaser also jumps to the newest family
        fam = np.where(chaser & (ts >= w.release_ms[1]) & (rng.random(n) < 0.9), 1, fam)
    model = np.array(C.FAMILY_OLD)[fam]
    for f in (0, 1):
        rms = w.release_ms[f]
        if rms is None:
            continue
        age = (ts - rms) / DAY_MS
        adopt = (age >= 0) & (
            rng.random(n) < 1 - np.exp(-np.maximum(age, 0) / C.ADOPT_TAU_DAYS[pop])
        )
        model = np.where((fam == f) & adopt, C.FAMILY_NEW[f], model)
    out["model"] = model.astype(np.int8)
    out["endpoint"] = (rng.random(n) < C.P_BATCH[pop]).astype(np.int8)

    # network: primary or secondary slot (a previous owner: the secondary, their home line);
    # residential-proxy slots draw a fresh ISP per request
    slot = ((rng.random(n) < w.p_net1[acct]) | before).astype(np.int64)
    entry = w.net_entry[acct, slot].astype(np.int64)
    kind = w.net_kind[acct, slot]
    ip = w.net_base[acct, slot] + (rng.integers(0, 1 << 31, n) % w.net_span[acct, slot]).astype(
        np.uint32
    )
    net = w.net
    # proxy pools: kind 1 exits through residential ISPs, kind 2 through residential or mobile
    pools = (
        net.by_type[C.IPT_RES],
        np.concatenate([net.by_type[C.IPT_RES], net.by_type[C.IPT_MOB]]),
    )
    for pk, pool in zip((1, 2), pools, strict=True):
        proxy = np.flatnonzero(kind == pk)
        if not len(proxy):
            continue
        cw = np.cumsum(net.weight[pool]) / net.weight[pool].sum()
        e = pool[np.minimum(np.searchsorted(cw, rng.random(len(proxy))), len(pool) - 1)]
        blk = net.blocks[net.blk_off[e] + rng.integers(0, 1 << 30, len(proxy)) % net.blk_n[e]]
        entry[proxy] = e
        ip[proxy] = blk + rng.integers(256, 65280, len(proxy)).astype(np.uint32)
    out["entry"], out["ip"] = entry.astype(np.int16), ip
    itype = w.net.iptype[entry]
    out["v6"] = (rng.random(n) < w.p_v6[acct]) & ((itype == C.IPT_RES) | (itype == C.IPT_MOB))
    nk = w.n_keys[acct]
    out["key"] = (
        w.key_off[acct] + np.minimum((nk * rng.random(n) ** 2).astype(np.int64), nk - 1)
    ).astype(np.int32)

    # prompt: a template (near-duplicate SimHash) or a fresh random prompt
    templ = (rng.random(n) < w.p_tmpl[acct]) & (w.t_n[acct] > 0) & ~alt
    ti = np.flatnonzero(templ)
    simhash = rng.integers(0, 2**63, n, dtype=np.int64).astype(np.uint64) * np.uint64(2) + (
        rng.integers(0, 2, n).astype(np.uint64)
    )
    ut = rng.random(n, dtype=np.float32)
    topic = np.zeros(n, np.int8)
    for k in range(8):  # inverse CDF one column at a time (no n x 9 temporary)
        topic += ut > w.topic_cdf[acct, k]
    ai = np.flatnonzero(alt)
    if len(ai):
        topic[ai] = (ut[ai, None] > C.TOPIC_CDF[pop[ai], :8]).sum(1)
    if len(ti):
        a = acct[ti]
        week = d // 7
        k = (week * w.t_stride[a] + rng.integers(0, 1 << 30, len(ti)) % w.t_pick[a]) % w.t_n[a]
        tid = w.t_off[a] + k
        flips = rng.integers(w.flips_lo[a].astype(np.int64), w.flips[a].astype(np.int64) + 1)
        simhash[ti] = w.template[tid] ^ flip_masks(rng, flips)
        topic[ti] = w.tmpl_topic[tid]
    common = np.flatnonzero(~templ & (rng.random(n) < C.P_COMMON_PROMPT[pop]))
    simhash[common] = w.common_prompts[rng.integers(0, len(w.common_prompts), len(common))]
    out["simhash"], out["topic"] = simhash, topic
    spn = w.sp_n[acct]
    has_sp = (rng.random(n) < w.p_sp[acct]) & (spn > 0) & ~alt
    out["sp"] = np.where(
        has_sp, w.sp_off[acct] + rng.integers(0, 1 << 30, n) % np.maximum(spn, 1), -1
    ).astype(np.int32)

    thinking = rng.random(n) < np.where(alt, C.P_THINKING[pop], w.p_thinking[acct])
    out["thinking"] = thinking.astype(np.int8)
    st = rng.random(n)
    status = np.zeros(n, np.int8)
    for k in range(4):
        status += st > C.STATUS_CDF[pop, k]
    out["status"] = status
    mu_in, sd_in = C.IN_TOK[pop, 0], C.IN_TOK[pop, 1]
    mu_out, sd_out = C.OUT_TOK[pop, 0], C.OUT_TOK[pop, 1]
    in_tok = np.exp(mu_in + sd_in * rng.standard_normal(n)) * w.tok_mult[acct, 0]
    out_tok = np.exp(mu_out + sd_out * rng.standard_normal(n)) * w.tok_mult[acct, 1]
    out_tok *= np.where(thinking, 1.8, 1.0)
    ok200 = status == 0
    out["in_tok"] = np.minimum(np.maximum(in_tok, 1), 2**31 - 1).astype(np.int32)
    out["out_tok"] = np.minimum(np.where(ok200, np.maximum(out_tok, 1), 0), 2**31 - 1).astype(
        np.int32
    )
    lat = 250 + out_tok * rng.uniform(8, 22, n) + thinking * rng.uniform(500, 3000, n)
    out["latency"] = np.minimum(np.where(ok200, lat, rng.uniform(5, 400, n)), 2**31 - 1).astype(
        np.int32
    )
    del in_tok, out_tok, lat
    out["turns"] = np.minimum(rng.geometric(C.TURNS_P[pop]), 63).astype(np.int8)
    agentic = topic == C.T_AGENTIC
    tools = np.where(rng.random(n) < C.P_TOOLS[pop], 1 + rng.poisson(2, n), 0)
    out["tools"] = np.minimum(np.where(agentic, 1 + rng.poisson(6, n), tools), 63).astype(np.int8)
    out["image"] = (topic == C.T_VISION) | (rng.random(n) < C.P_IMAGE[pop])
    a_, b_ = C.COT_BETA[pop, 0], C.COT_BETA[pop, 1]
    out["cot"] = np.round(rng.beta(a_, b_) * 1000).astype(np.int16)
    return out


class Renderer:
    """Pre-rendered fragments of one world; read-only once built, shared by threads.

    Every fragment but the first starts with its comma. Fields that vary together are rendered
    as one combined vocabulary (one gather instead of several)."""

    def __init__(self, w: World) -> None:
        self.w = w
        # a key belongs to one account: one fragment carries both ids
        owner = np.repeat(np.arange(w.n), w.n_keys)
        self.acct_key = pc.binary_join_element_wise(
            ',"account_id":"',
            _text(w.account_id[owner]),
            '","api_key_id":"',
            _text(w.key_id),
            '"',
            "",
        )
        del owner
        # account's org, then two upstream variants: an empty string and an explicit null
        has = w.org >= 0
        orgs = pa.array(
            np.concatenate(
                [
                    w.org_id[np.maximum(w.org, 0)] if len(w.org_id) else np.full(w.n, b"", "S1"),
                    [b"", b""],
                ]
            ),
            mask=np.concatenate([~has, [False, False]]),
        ).cast(pa.string())
        self.org = pc.binary_join_element_wise(',"org_id":"', orgs, '"', "")
        self.org = pa.concat_arrays([self.org[: w.n], pa.array([',"org_id":""', ',"org_id":null'])])
        self.sp = pc.binary_join_element_wise(
            ',"system_prompt_hash":"', _text(w.sys_prompt), '"', ""
        )
        self.model_ep = pa.array(
            [f',"model":"{m}","endpoint":"{e}"' for m in C.MODELS for e in C.ENDPOINTS]
        )
        # geo triple per network entry: normal, vendor's new ip_type class, empty country
        geo = []
        for asn, it, cc in zip(w.net.asn, w.net.iptype, w.net.cc, strict=True):
            geo.append(
                f',"ip_asn":{asn},"ip_type":"{C.IP_TYPES[it]}","country":"{C.COUNTRIES[cc]}"'
            )
            geo.append(
                f',"ip_asn":{asn},"ip_type":"{C.UNKNOWN_IP_TYPE}","country":"{C.COUNTRIES[cc]}"'
            )
            geo.append(f',"ip_asn":{asn},"ip_type":"{C.IP_TYPES[it]}","country":""')
        self.geo = pa.array(geo)
        self.ua = R.vocab("user_agent", C.USER_AGENTS + [""], prefix=",")
        # thinking_enabled x has_image x tool_count x turns, each possibly absent: one gather
        flags = []
        for t in ("false", "true", None):
            for i in ("false", "true", None):
                for tc in [*range(64), None]:
                    for tu in [*range(64), None]:
                        parts = (
                            ([f'"thinking_enabled":{t}'] if t else [])
                            + ([f'"has_image":{i}'] if i else [])
                            + ([f'"tool_count":{tc}'] if tc is not None else [])
                            + ([f'"turns":{tu}'] if tu is not None else [])
                        )
                        flags.append("," + ",".join(parts) if parts else "")
        self.flags = pa.array(flags)
        # topic (or none), then the key of latency_ms when a latency follows
        topic = [f',"topic":"{t}"' for t in C.TOPICS + C.UNKNOWN_TOPICS] + [""]
        self.topic_lat = pa.array(topic + [t + ',"latency_ms":' for t in topic])
        tail = []  # service_tier (absent/standard/priority) x extra field (absent/4) x status
        extras = [
            "",
            ',"gateway_region":"us-east-1"',
            ',"gateway_region":"eu-west-1"',
            ',"retry_of":null',
            ',"x_edge_pop":"fra53"',
        ]
        for tier in ("", ',"service_tier":"standard"', ',"service_tier":"priority"'):
            for ex in extras:
                for st in C.STATUSES:
                    tail.append(f'{tier}{ex},"status":{st}}}\n')
        self.tail = pa.array(tail)

    def render(
        self, c: dict[str, np.ndarray], sl: slice, d: int, rng: np.random.Generator
    ) -> pa.Array:
        """JSON lines (with trailing newline) for rows sl of a day's columns."""
        w = self.w
        g = {k: c[k][sl] for k in COLUMNS}
        n = len(g["acct"])
        acct = g["acct"]
        u = rng.random((n, 8), dtype=np.float32)
        f: list = [R.framed('{"request_id":"', R.uuid4(rng, n), '"')]
        off = u[:, 0] < 0.02  # some gateways write local offsets: same instant, other zone
        f.append(R.framed(',"ts":"', R.ts_matrix(g["ts"]), '"', valid=~off))
        mins = np.array([120, -300, 330, 540, 0])[rng.integers(0, 5, int(off.sum()))]
        f.append(R.sparse(off, ',"ts":"', R.ts_matrix(g["ts"][off], mins), '"'))
        f.append(self.acct_key.take(pa.array(g["key"])))
        org_code = np.where(w.org[acct] >= 0, acct, -1)
        org_code = np.where((org_code >= 0) & (u[:, 1] < 0.005), w.n, org_code)
        org_code = np.where((org_code >= 0) & (u[:, 1] > 0.995), w.n + 1, org_code)
        f.append(R.take(self.org, org_code))
        f.append(R.take(self.model_ep, g["model"].astype(np.int64) * 2 + g["endpoint"]))
        ip, v6 = g["ip"], g["v6"]
        body = np.zeros((0, 25), np.uint8)
        if v6.any():
            e = g["entry"][v6].astype(np.uint64)
            hi = (np.uint64(0x2A00) + e * np.uint64(7) % np.uint64(0x1FF)) << np.uint64(48)
            hi |= (w.net.asn[g["entry"][v6]].astype(np.uint64) & np.uint64(0xFFFF)) << np.uint64(32)
            hi |= ip[v6].astype(np.uint64)
            low = rng.integers(1, 1 << 16, int(v6.sum())).astype(np.uint64)
            hx = R.hex64(hi)
            body = np.empty((len(hi), 25), np.uint8)
            for gi in range(4):
                body[:, gi * 5 : gi * 5 + 4] = hx[:, gi * 4 : gi * 4 + 4]
                body[:, gi * 5 + 4] = ord(":")
            body[:, 20] = ord(":")
            body[:, 21:25] = R.hex64(low)[:, 12:16]
        f.append(R.ip_fragment(',"client_ip":"', ip, v6, body, '"'))
        # GeoIP: 1% no answer (all three fields missing), a new vendor class, an empty country
        variant = np.where(u[:, 3] < 0.002, 1, np.where(u[:, 3] > 0.997, 2, 0))
        f.append(R.take(self.geo, g["entry"].astype(np.int64) * 3 + variant, u[:, 2] >= 0.01))
        ua = np.where(g["ts"] < w.handover[acct], w.ua_prior[acct], w.ua[acct])
        ua = np.where(u[:, 4] < 0.003, len(C.USER_AGENTS), ua)
        f.append(R.take(self.ua, ua, u[:, 4] < 0.98))
        f.append(',"input_tokens":')
        f.append(R.digits(g["in_tok"]))
        f.append(',"output_tokens":')
        f.append(R.digits(g["out_tok"]))
        opt = u[:, 5]
        think = np.where(opt < 0.94, g["thinking"], 2).astype(np.int64)
        image = np.where(opt > 0.03, g["image"], 2).astype(np.int64)
        tools = np.where(opt <= 0.97, g["tools"], 64).astype(np.int64)
        turns = np.where((opt <= 0.5) | (opt >= 0.53), g["turns"], 64)
        f.append(R.take(self.flags, ((think * 3 + image) * 65 + tools) * 65 + turns))
        upper = u[:, 6] < 0.005  # one gateway build writes upper-case hex
        f.append(R.framed(',"prompt_simhash":"', R.hex64(g["simhash"], upper), '"'))
        f.append(R.take(self.sp, g["sp"]))
        cot = g["cot"].astype(np.int64)
        cm = np.empty((n, 5), np.uint8)
        cm[:, 0] = R.DIG[cot // 1000]
        cm[:, 1] = ord(".")
        R._digits(cm, 2, cot % 1000, 3)
        f.append(R.framed(',"cot_request_score":', cm, valid=u[:, 7] <= 0.99))
        topic = np.where(u[:, 6] > 0.997, 9 + (u[:, 7] < 0.5), g["topic"])  # classifier v2
        topic = np.where(u[:, 7] > 0.01, topic, len(C.TOPICS) + len(C.UNKNOWN_TOPICS))
        no_lat = (g["status"] > 0) & (u[:, 5] > 0.4) & (u[:, 5] < 0.5)
        f.append(R.take(self.topic_lat, topic.astype(np.int64) + np.where(no_lat, 0, 12)))
        f.append(R.digits(g["latency"], no_lat))
        # upstream adds a column part-way through the window; a few lines carry debug fields
        tier = (1 + (u[:, 1] > 0.95)) if d >= round(0.6 * w.days) else np.zeros(n, np.int64)
        extra = np.where(
            (u[:, 3] > 0.002) & (u[:, 3] < 0.006), 1 + (u[:, 4] * 1000).astype(np.int64) % 4, 0
        )
        f.append(R.take(self.tail, (tier * 5 + extra) * 5 + g["status"]))
        return R.join_lines(f)


def _text(ids: np.ndarray) -> pa.Array:
    """numpy byte strings (ASCII ids) as an Arrow string array."""
    return pa.array(ids).cast(pa.string())
