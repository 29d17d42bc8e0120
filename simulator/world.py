"""The synthetic world: accounts, organisations, campaigns and every scheduled event.

Built once per run from the seed alone (no dependence on how days are later scheduled), so each
day can then be generated independently and in any order. Everything is a column of a numpy
array indexed by account; account ids are drawn from one distribution for everybody.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from simulator import vocabulary as C

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MIN_MS = 60_000
NEVER = np.iinfo(np.int64).max // 4  # "no end": far future, still safe to add a day to
ID_ALPHABET = np.frombuffer(b"0123456789abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)


def _with_prefix(prefix: str, chars: np.ndarray) -> np.ndarray:
    """Byte strings (numpy 'S', one byte a character) of prefix + each row of chars."""
    p = np.frombuffer(prefix.encode(), dtype=np.uint8)
    n, length = chars.shape
    m = np.empty((n, len(p) + length), dtype=np.uint8)
    m[:, : len(p)] = p
    m[:, len(p) :] = chars
    return m.view(f"S{len(p) + length}").ravel()


def random_ids(rng: np.random.Generator, n: int, prefix: str, length: int = 20) -> np.ndarray:
    """Opaque ids: prefix + uniform base-36 characters, the same law for every role."""
    return _with_prefix(prefix, ID_ALPHABET[rng.integers(0, len(ID_ALPHABET), size=(n, length))])


def random_hex(rng: np.random.Generator, n: int, prefix: str, length: int = 32) -> np.ndarray:
    hexd = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    return _with_prefix(prefix, hexd[rng.integers(0, 16, (n, length))])


def flip_masks(rng: np.random.Generator, k: np.ndarray) -> np.ndarray:
    """A uint64 mask with k[i] (<= 8) random distinct-ish bits set: paraphrase noise."""
    n = len(k)
    mask = np.zeros(n, dtype=np.uint64)
    kmax = int(k.max()) if n else 0
    for j in range(kmax):
        pos = rng.integers(0, 64, n).astype(np.uint64)
        bit = np.left_shift(np.uint64(1), pos)
        # XOR-free OR: a repeated position flips fewer bits, never more than k
        mask |= np.where(j < k, bit, np.uint64(0))
    return mask


@dataclass
class Net:
    """Flattened network table: one entry per (asn, country, ip_type), each with /16 blocks."""

    asn: np.ndarray
    cc: np.ndarray
    iptype: np.ndarray
    weight: np.ndarray
    blk_off: np.ndarray
    blk_n: np.ndarray
    blocks: np.ndarray  # uint32 base address of each /16
    by_type: dict[int, np.ndarray] = field(default_factory=dict)  # ip_type -> entry indices
    univ: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # entry per campus

    def pick(
        self, rng: np.random.Generator, kind: int, n: int, country: np.ndarray | None = None
    ) -> np.ndarray:
        """n entries of one ip_type, weighted; optionally matching a country where possible."""
        cand = self.by_type[kind]
        w = self.weight[cand] / self.weight[cand].sum()
        out = cand[rng.choice(len(cand), size=n, p=w)]
        if country is not None:
            for cc in np.unique(country):
                same = cand[self.cc[cand] == cc]
                sel = np.flatnonzero(country == cc)
                if len(same) and len(sel):
                    ws = self.weight[same] / self.weight[same].sum()
                    out[sel] = same[rng.choice(len(same), size=len(sel), p=ws)]
        return out

    def slash24(self, rng: np.random.Generator, entry: np.ndarray) -> np.ndarray:
        """Base address of a random /24 inside one of each entry's /16 blocks."""
        blk = self.blocks[
            self.blk_off[entry] + rng.integers(0, 1 << 30, len(entry)) % self.blk_n[entry]
        ]
        return blk + (rng.integers(0, 256, len(entry)).astype(np.uint32) << np.uint32(8))


def build_net(rng: np.random.Generator) -> Net:
    rows: list[tuple[int, int, int, float, int]] = []
    for kind, table in C.NET_KINDS.items():
        for asn, cc, wgt in table:
            rows.append((asn, C.COUNTRIES.index(cc), kind, float(wgt), 2 + int(wgt)))
    univ_rows = []
    for asn, cc, _dom in C.UNIVERSITIES:
        univ_rows.append(len(rows))
        rows.append((asn, C.COUNTRIES.index(cc), C.IPT_EDU, 1.0, 1))
    # routable first octets only (no private, loopback, CGNAT, link-local, docs, multicast)
    firsts = np.array(
        [o for o in range(1, 224) if o not in (10, 100, 127, 169, 172, 192, 198, 203)],
        dtype=np.uint32,
    )
    total = sum(r[4] for r in rows)
    space = firsts[:, None] * 256 + np.arange(256, dtype=np.uint32)[None, :]
    chosen = rng.choice(space.ravel(), size=total, replace=False).astype(np.uint32) << 16
    blk_n = np.array([r[4] for r in rows])
    net = Net(
        asn=np.array([r[0] for r in rows]),
        cc=np.array([r[1] for r in rows]),
        iptype=np.array([r[2] for r in rows]),
        weight=np.array([r[3] for r in rows]),
        blk_off=np.concatenate([[0], np.cumsum(blk_n)[:-1]]),
        blk_n=blk_n,
        blocks=chosen,
    )
    for kind in (C.IPT_RES, C.IPT_MOB, C.IPT_DC, C.IPT_VPN, C.IPT_BUS):
        net.by_type[kind] = np.flatnonzero(net.iptype == kind)
    net.univ = np.array(univ_rows)
    return net


@dataclass
class Campaign:
    cid: str
    strategy: str
    start_day: int
    end_day: int  # exclusive; may lie beyond the window (still running when it ends)
    accounts: np.ndarray
    volume: np.ndarray  # expected lines per day of the window
    waves: list[dict]
    n_templates: int
    bursty: bool


class World:
    """All accounts and scheduled events for one (seed, start, days, scale)."""

    def __init__(self, seed: int, start: dt.date, days: int, scale: str) -> None:
        if scale not in C.SCALES:
            raise ValueError(f"unknown scale {scale!r}; one of {sorted(C.SCALES)}")
        if days < 1:
            raise ValueError("days must be >= 1")
        self.seed, self.start, self.days, self.scale = seed, start, days, scale
        self.start_ms = int(
            dt.datetime(start.year, start.month, start.day, tzinfo=dt.UTC).timestamp() * 1000
        )
        self.end_ms = self.start_ms + days * DAY_MS
        n_accounts, lines_per_day = C.SCALES[scale]
        self.n_att = round(n_accounts * C.ATTACKER_ACCOUNT_SHARE)
        self.n_legit = n_accounts - self.n_att
        self.att_lines_day = lines_per_day * C.ATTACKER_LINES_PER_DAY_SHARE
        self.legit_lines_day = lines_per_day - self.att_lines_day
        rng = np.random.default_rng([seed, 1])
        self.rng = rng
        self.net = build_net(rng)
        self.release_day = [
            None if f is None else max(1, round(f * days)) if days > 2 else None
            for f in C.RELEASE_FRACTION
        ]
        self.release_ms = [
            None if r is None else self.start_ms + r * DAY_MS + C.RELEASE_HOUR_UTC * HOUR_MS
            for r in self.release_day
        ]
        # tables grown while building
        self.domains: list[str] = [d for d, _ in C.WEBMAIL] + [u[2] for u in C.UNIVERSITIES]
        self._webmail_w = np.array([w for _, w in C.WEBMAIL], dtype=np.float64)
        self.pay_fp: list[np.ndarray] = []
        self._n_pay = 0
        self.org_ids: list[np.ndarray] = []
        self._n_org = 0
        self.templates: list[np.ndarray] = []
        self.template_topic: list[np.ndarray] = []
        self._n_tmpl = 0
        self.sys_prompts: list[np.ndarray] = []
        self._n_sp = 0
        self.special_rows: list[np.ndarray] = []  # per-org day multipliers (eval labs, classes)
        self.sweep_rows: list[np.ndarray] = []  # eval lab sweep start hour per day (-1 none)
        self.common_prompts = rng.integers(0, 2**63, 40, dtype=np.int64).astype(np.uint64) * 2 + 1
        self._alloc(n_accounts)
        self._build_legit()
        self.campaigns: list[Campaign] = []
        self._build_attackers()
        self._finish()

    # ---- growing tables ------------------------------------------------------------------------

    def _alloc(self, n: int) -> None:
        self.n = n
        z = np.zeros
        self.pop = z(n, np.int8)
        self.camp = np.full(n, -1, np.int16)
        self.org = np.full(n, -1, np.int32)
        self.created = z(n, np.int64)
        self.end = np.full(n, NEVER, np.int64)
        self.pause_from = np.full(n, NEVER, np.int64)
        self.pause_to = np.full(n, NEVER, np.int64)
        self.tz = z(n, np.int8)
        # two network slots: 0 primary, 1 secondary (used with probability p_net1)
        self.net_kind = z((n, 2), np.int8)  # 0 fixed pool; per line: 1 residential, 2 also mobile
        self.net_base = z((n, 2), np.uint32)
        self.net_span = np.ones((n, 2), np.uint32)
        self.net_entry = z((n, 2), np.int32)
        self.p_net1 = z(n, np.float32)
        self.p_v6 = z(n, np.float32)
        self.ua = z(n, np.int16)
        self.n_keys = np.ones(n, np.int32)
        self.sp_off = z(n, np.int32)
        self.sp_n = z(n, np.int32)
        self.p_sp = z(n, np.float32)
        self.t_off = z(n, np.int32)
        self.t_n = z(n, np.int32)
        self.t_pick = np.ones(n, np.int32)
        self.t_stride = z(n, np.int32)
        self.p_tmpl = z(n, np.float32)
        self.flips = z(n, np.int8)
        self.rate_mult = np.ones(n, np.float64)
        self.tok_mult = np.ones((n, 2), np.float32)
        self.special = np.full(n, -1, np.int32)
        self.channel = z(n, np.int8)
        self.email = z(n, np.int32)
        self.bill_cc = z(n, np.int16)
        self.tier = z(n, np.int8)
        self.verified = z(n, bool)
        self.pay = np.full(n, -1, np.int32)
        self.p_thinking = z(n, np.float32)
        self.wrong_ban = z(n, bool)
        self.flips_lo = z(n, np.int8)
        # Lines of another profile inside an account: a bought account's previous owner (every
        # line before `handover`) or a blended attacker's ordinary cover traffic (share p_alt).
        self.handover = np.full(n, -NEVER, np.int64)
        self.alt_pop = np.full(n, -1, np.int8)
        self.p_alt = z(n, np.float32)
        self.alt_rate = np.ones(n, np.float64)  # previous owner's activity, as rate_mult
        self.ua_prior = z(n, np.int16)
        self.upd_acct: list[np.ndarray] = []  # registry changes at scheduled times: new card
        self.upd_ms: list[np.ndarray] = []
        self.upd_pay: list[np.ndarray] = []
        self._next = 0

    def _take(self, k: int) -> np.ndarray:
        idx = np.arange(self._next, self._next + k)
        self._next += k
        return idx

    def _new_pay(self, k: int) -> np.ndarray:
        self.pay_fp.append(random_hex(self.rng, k, "pf_", 32))
        self._n_pay += k
        return np.arange(self._n_pay - k, self._n_pay, dtype=np.int32)

    def _new_orgs(self, k: int) -> np.ndarray:
        self.org_ids.append(random_ids(self.rng, k, "org_", 20))
        self._n_org += k
        return np.arange(self._n_org - k, self._n_org, dtype=np.int32)

    def _new_templates(
        self,
        k: int,
        topic_w: np.ndarray | None = None,
        hashes: np.ndarray | None = None,
        topics: np.ndarray | None = None,
    ) -> int:
        """k prompt templates: random 64-bit SimHashes (or given ones) with their topics
        (drawn from topic_w unless given). Returns the index of the first."""
        rng = self.rng
        if hashes is None:
            hashes = rng.integers(0, 2**63, k, dtype=np.int64).astype(np.uint64) * np.uint64(
                2
            ) + rng.integers(0, 2, k).astype(np.uint64)
        if topics is None:
            topics = rng.choice(9, size=k, p=topic_w / topic_w.sum())
        self.templates.append(hashes)
        self.template_topic.append(np.asarray(topics, dtype=np.int8))
        self._n_tmpl += k
        return self._n_tmpl - k

    def _new_sys(self, k: int) -> int:
        self.sys_prompts.append(random_hex(self.rng, k, "", 16))
        self._n_sp += k
        return self._n_sp - k

    def _new_domains(self, k: int) -> np.ndarray:
        rng = self.rng
        syl = C._SYL
        tlds = [t for t, _ in C._TLD]
        tw = np.array([w for _, w in C._TLD], dtype=np.float64)
        a = rng.integers(0, len(syl), (k, 3))
        nsyl = rng.integers(2, 4, k)
        tld = rng.choice(len(tlds), size=k, p=tw / tw.sum())
        out = []
        for i in range(k):
            name = "".join(syl[j] for j in a[i, : nsyl[i]])
            out.append(f"{name}.{tlds[tld[i]]}")
        base = len(self.domains)
        self.domains.extend(out)
        return np.arange(base, base + k, dtype=np.int32)

    def _webmail(self, k: int, boost_proton: bool = False) -> np.ndarray:
        w = self._webmail_w.copy()
        if boost_proton:
            for i, (d, _) in enumerate(C.WEBMAIL):
                if d.startswith("proton"):
                    w[i] *= 3
        return self.rng.choice(len(w), size=k, p=w / w.sum()).astype(np.int32)

    def _special_row(self, mult: np.ndarray, sweep: np.ndarray | None = None) -> int:
        self.special_rows.append(mult.astype(np.float32))
        self.sweep_rows.append(np.full(self.days, -1, np.int8) if sweep is None else sweep)
        return len(self.special_rows) - 1

    def _past_created(self, k: int, max_days: float = 900, scale_days: float = 300) -> np.ndarray:
        age = np.minimum(self.rng.exponential(scale_days, k), max_days) + 1
        return self.start_ms - (age * DAY_MS).astype(np.int64)

    def _created_mix(self, k: int) -> np.ndarray:
        """Creation times of legit accounts: most before the window, a few signing up during it."""
        rng = self.rng
        t = self._past_created(k)
        new = rng.random(k) < min(0.15, 0.004 * self.days)
        t[new] = self.start_ms + (rng.random(new.sum()) * self.days * DAY_MS).astype(np.int64)
        return t

    def _tz_of(self, cc: np.ndarray) -> np.ndarray:
        out = np.zeros(len(cc), np.int8)
        for c in np.unique(cc):
            sel = np.flatnonzero(cc == c)
            opts = C.TZ[C.COUNTRIES[c]]
            out[sel] = np.array(opts, np.int8)[self.rng.integers(0, len(opts), len(sel))]
        return out

    def _billing(self, k: int) -> np.ndarray:
        ccs = list(C.BILLING_W)
        w = np.array([C.BILLING_W[c] for c in ccs], dtype=np.float64)
        code = np.array([C.COUNTRIES.index(c) for c in ccs], dtype=np.int16)
        return code[self.rng.choice(len(ccs), size=k, p=w / w.sum())]

    def _set_net(
        self,
        idx: np.ndarray,
        slot: int,
        entry: np.ndarray,
        base: np.ndarray,
        span: int | np.ndarray,
        kind: int = 0,
    ) -> None:
        self.net_entry[idx, slot] = entry
        self.net_base[idx, slot] = base
        self.net_span[idx, slot] = span
        self.net_kind[idx, slot] = kind

    def _ua(self, idx: np.ndarray, pop: int) -> None:
        w = C.UA_W[pop]
        self.ua[idx] = self.rng.choice(len(w), size=len(idx), p=w / w.sum())

    def _topic_w(self, pop: int) -> np.ndarray:
        return C.TOPIC_BASE[pop]

    def _common(self, idx: np.ndarray, pop: int) -> None:
        rng = self.rng
        k = len(idx)
        self.pop[idx] = pop
        self.rate_mult[idx] = rng.lognormal(0, C.RATE_SIGMA[pop], k)
        self.tok_mult[idx] = rng.lognormal(0, 0.3, (k, 2))
        self.p_thinking[idx] = np.clip(C.P_THINKING[pop] + rng.normal(0, 0.08, k), 0, 1)
        self.p_tmpl[idx] = C.P_TEMPLATED[pop]
        self.flips[idx] = C.FLIPS_MAX[pop]
        self.flips_lo[idx] = C.FLIPS_MIN[pop]
        self._ua(idx, pop)

    @staticmethod
    def _group_sizes(
        rng: np.random.Generator, total: int, mean: float, lo: int = 1, hi: int = 10_000
    ) -> np.ndarray:
        """Split total accounts into groups (orgs, classes) of random sizes summing to total."""
        sizes: list[int] = []
        left = total
        while left > 0:
            s = int(np.clip(rng.poisson(mean - lo) + lo, lo, hi))
            s = min(s, left)
            sizes.append(s)
            left -= s
        return np.array(sizes, dtype=np.int64)

    # ---- legitimate populations ----------------------------------------------------------------

    def _build_legit(self) -> None:
        counts = np.floor(C.LEGIT_ACCOUNT_SHARE * self.n_legit).astype(int)
        n_res = max(2, round(self.n_legit * 0.0002))
        counts[C.P_RESELLER] = max(counts[C.P_RESELLER], n_res)
        counts[C.P_IND] += self.n_legit - counts.sum()
        self.legit_counts = counts
        self._individuals(self._take(counts[C.P_IND]))
        self._startups(self._take(counts[C.P_START]))
        self._enterprises(self._take(counts[C.P_ENT]))
        self._eval_labs(self._take(counts[C.P_EVAL]))
        self._classes(self._take(counts[C.P_UNIV]))
        self._resellers(self._take(counts[C.P_RESELLER]), self._take(counts[C.P_RCUST]), n_res)
        self._hackathons(self._take(counts[C.P_HACK]))

    def _individuals(self, idx: np.ndarray) -> None:
        rng, net, k = self.rng, self.net, len(idx)
        self._common(idx, C.P_IND)
        self.created[idx] = self._created_mix(k)
        mobile = rng.random(k) < 0.25
        entry = np.where(mobile, net.pick(rng, C.IPT_MOB, k), net.pick(rng, C.IPT_RES, k))
        base = net.slash24(rng, entry)
        # home broadband keeps a few addresses; mobile carriers NAT many users into a pool
        span = np.where(mobile, 4096, rng.integers(1, 5, k)).astype(np.uint32)
        base = np.where(
            mobile, base & np.uint32(0xFFFFF000), base + rng.integers(1, 250, k).astype(np.uint32)
        )
        self._set_net(idx, 0, entry, base, span)
        self.p_v6[idx] = 0.2
        cc = net.cc[entry]
        self.tz[idx] = self._tz_of(cc)
        self.bill_cc[idx] = cc
        # secondary network: phone, VPN, a VPS, or the office
        sec = rng.choice(4, size=k, p=[0.6, 0.08, 0.04, 0.28])
        kinds = np.array([C.IPT_MOB, C.IPT_VPN, C.IPT_DC, C.IPT_BUS])[sec]
        e1 = np.zeros(k, np.int64)
        for kind in np.unique(kinds):
            s = kinds == kind
            e1[s] = net.pick(rng, int(kind), int(s.sum()), cc[s])
        b1 = net.slash24(rng, e1)
        self._set_net(idx, 1, e1, b1, np.where(kinds == C.IPT_MOB, 4096, 64))
        self.net_base[idx, 1] &= np.where(
            kinds == C.IPT_MOB, np.uint32(0xFFFFF000), np.uint32(0xFFFFFFFF)
        )
        self.p_net1[idx] = np.array([0.15, 0.5, 0.3, 0.1], np.float32)[sec]
        own = rng.random(k)
        email = self._webmail(k)
        edu = own < 0.02
        email[edu] = len(C.WEBMAIL) + rng.integers(0, len(C.UNIVERSITIES), edu.sum())
        dom = (own >= 0.02) & (own < 0.07)
        email[dom] = self._new_domains(int(dom.sum()))
        self.email[idx] = email
        self.channel[idx] = np.where(edu, C.CH_EDU, C.CH_SELF)
        paid = rng.random(k) < 0.45
        self.tier[idx] = np.where(paid, C.TIER_BUILD, C.TIER_FREE)
        pay = np.full(k, -1, np.int32)
        has = paid & (rng.random(k) < 0.95)
        pay[has] = self._new_pay(int(has.sum()))
        self.pay[idx] = pay
        self.verified[idx] = rng.random(k) < 0.1
        self.n_keys[idx] = rng.integers(1, 3, k)
        self.p_sp[idx] = 0.1
        self.sp_off[idx] = self._new_sys(k)
        self.sp_n[idx] = 1
        self.sp_off[idx] += np.arange(k, dtype=np.int32)

    def _orgs_common(
        self, idx: np.ndarray, pop: int, mean_size: float, lo: int, hi: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Assign accounts to orgs; returns (org of each account, position of org per account)."""
        sizes = self._group_sizes(self.rng, len(idx), mean_size, lo, hi)
        orgs = self._new_orgs(len(sizes))
        local = np.repeat(np.arange(len(sizes)), sizes)
        self.org[idx] = orgs[local]
        self._common(idx, pop)
        return orgs, local

    def _org_net(
        self,
        idx: np.ndarray,
        local: np.ndarray,
        n_org: int,
        slot: int,
        kind: int,
        span: int,
        cc: np.ndarray | None = None,
    ) -> np.ndarray:
        """One /24 per org in a network of the given kind, shared by the org's accounts."""
        entry = self.net.pick(self.rng, kind, n_org, cc)
        base = self.net.slash24(self.rng, entry)
        self._set_net(idx, slot, entry[local], base[local], span)
        return entry

    def _startups(self, idx: np.ndarray) -> None:
        rng, k = self.rng, len(idx)
        orgs, local = self._orgs_common(idx, C.P_START, 3, 1, 12)
        m = len(orgs)
        cc = self._billing(m)
        self.created[idx] = self._created_mix(k)
        self._org_net(idx, local, m, 0, C.IPT_DC, 32)
        self._org_net(idx, local, m, 1, C.IPT_BUS, 16, cc)
        self.p_net1[idx] = 0.2
        self.tz[idx] = self._tz_of(cc)[local]
        self.bill_cc[idx] = cc[local]
        self.email[idx] = self._new_domains(m)[local]
        self.channel[idx] = np.where(rng.random(m) < 0.5, C.CH_STARTUP, C.CH_SELF)[local]
        self.tier[idx] = np.where(rng.random(m) < 0.6, C.TIER_BUILD, C.TIER_SCALE)[local]
        self.pay[idx] = self._new_pay(m)[local]
        self.verified[idx] = (rng.random(m) < 0.6)[local]
        self.n_keys[idx] = rng.integers(1, 6, k)
        # each startup's product has a few prompt templates and system prompts
        t0 = np.array([self._new_templates(3, self._topic_w(C.P_START)) for _ in range(m)])
        self.t_off[idx], self.t_n[idx], self.t_pick[idx] = t0[local], 3, 3
        self.sp_off[idx] = self._new_sys(2 * m) + 2 * local
        self.sp_n[idx], self.p_sp[idx] = 2, 0.8

    def _enterprises(self, idx: np.ndarray) -> None:
        rng, k = self.rng, len(idx)
        orgs, local = self._orgs_common(idx, C.P_ENT, 4, 2, 8)
        m = len(orgs)
        cc = self._billing(m)
        self.created[idx] = self._past_created(k, 900, 400)
        self._org_net(idx, local, m, 0, C.IPT_DC, 64)
        self._org_net(idx, local, m, 1, C.IPT_BUS, 32, cc)
        self.p_net1[idx] = 0.05
        self.tz[idx] = self._tz_of(cc)[local]
        self.bill_cc[idx] = cc[local]
        self.email[idx] = self._new_domains(m)[local]
        self.channel[idx] = C.CH_ENTERPRISE
        self.tier[idx] = C.TIER_ENT
        self.pay[idx] = self._new_pay(m)[local]
        self.verified[idx] = True
        self.n_keys[idx] = rng.integers(2, 7, k)
        # one batch pipeline per account: one or two prompt templates filled with data
        nt = rng.integers(1, 3, k)
        self.t_off[idx] = [self._new_templates(int(x), self._topic_w(C.P_ENT)) for x in nt]
        self.t_n[idx], self.t_pick[idx] = nt, nt
        self.sp_off[idx] = self._new_sys(k) + np.arange(k, dtype=np.int32)
        self.sp_n[idx], self.p_sp[idx] = 1, 0.95

    def _eval_labs(self, idx: np.ndarray) -> None:
        rng, k, days = self.rng, len(idx), self.days
        if k == 0:
            return
        orgs, local = self._orgs_common(idx, C.P_EVAL, 6, 3, 10)
        m = len(orgs)
        cc = self._billing(m)
        self.created[idx] = self._past_created(k, 900, 300)
        self._org_net(idx, local, m, 0, C.IPT_DC, 64)
        self._org_net(idx, local, m, 1, C.IPT_BUS, 16, cc)
        self.p_net1[idx] = 0.1
        self.tz[idx] = self._tz_of(cc)[local]
        self.bill_cc[idx] = cc[local]
        self.email[idx] = self._new_domains(m)[local]
        self.channel[idx] = np.where(rng.random(m) < 0.6, C.CH_RESEARCH, C.CH_ENTERPRISE)[local]
        self.tier[idx] = np.where(rng.random(m) < 0.5, C.TIER_SCALE, C.TIER_ENT)[local]
        self.pay[idx] = self._new_pay(m)[local]
        self.verified[idx] = (rng.random(m) < 0.9)[local]
        self.n_keys[idx] = rng.integers(2, 9, k)
        # Public benchmarks: items share an instruction wrapper (so they sit ~12 bits apart),
        # every lab adds its own harness prefix (2 bits), and a sweep repeats items exactly.
        n_bench, per = 4, 120
        bases = rng.integers(0, 2**63, n_bench, dtype=np.int64).astype(np.uint64) * 2 + 1
        items = np.repeat(bases, per) ^ flip_masks(rng, np.full(n_bench * per, 12))
        topics = np.repeat(np.array([C.T_MATH, C.T_MATH, C.T_CODING, C.T_AGENTIC]), per)
        t0 = np.zeros(m, np.int64)
        for o in range(m):
            wrapped = items ^ flip_masks(rng, np.full(1, 2))[0]
            t0[o] = self._new_templates(len(items), hashes=wrapped, topics=topics)
        self.t_off[idx], self.t_n[idx], self.t_pick[idx] = t0[local], len(items), len(items)
        self.flips[idx] = 0
        self.sp_off[idx] = self._new_sys(m) + local
        self.sp_n[idx], self.p_sp[idx] = 1, 0.9
        # sweeps: every release day (and the day after) plus about one day a week per lab
        rows = np.zeros(m, np.int32)
        for o in range(m):
            sweep = rng.random(days) < 1 / 7
            for r in self.release_day:
                if r is not None:
                    sweep[r : r + 2] = True
            mult = np.where(sweep, 12.0, 0.3)
            start_h = np.where(sweep, rng.integers(0, 20, days), -1).astype(np.int8)
            rows[o] = self._special_row(mult, start_h)
        self.special[idx] = rows[local]
        self.tier[idx] = np.maximum(self.tier[idx], C.TIER_SCALE)

    def _classes(self, idx: np.ndarray) -> None:
        rng, k, days, net = self.rng, len(idx), self.days, self.net
        if k == 0:
            return
        sizes = self._group_sizes(rng, k, 40, 15, 80)
        m = len(sizes)
        local = np.repeat(np.arange(m), sizes)
        self._common(idx, C.P_UNIV)
        uni = rng.integers(0, len(C.UNIVERSITIES), m)
        entry = net.univ[uni]
        campus = net.slash24(rng, entry)  # the whole class sits behind one campus /24
        self._set_net(idx, 0, entry[local], campus[local], 256)
        cc = net.cc[entry]
        home = net.pick(rng, C.IPT_RES, k, cc[local])
        self._set_net(
            idx, 1, home, net.slash24(rng, home) + rng.integers(1, 250, k).astype(np.uint32), 2
        )
        self.p_net1[idx] = 0.35
        self.p_v6[idx] = 0.1
        self.tz[idx] = self._tz_of(cc)[local]
        self.bill_cc[idx] = cc[local]
        # a class signs up together: one day, within the hour of the first lecture
        in_window = rng.random(m) < 0.5
        day = np.where(
            in_window, rng.integers(0, max(1, int(days * 0.6)), m), -rng.integers(3, 60, m)
        )
        hour = rng.integers(8, 17, m) - self._tz_of(cc)
        t_class = self.start_ms + day * DAY_MS + hour * HOUR_MS
        self.created[idx] = t_class[local] + (rng.random(k) * 75 * MIN_MS).astype(np.int64)
        email = (len(C.WEBMAIL) + uni)[local].astype(np.int32)
        web = rng.random(k) < 0.05
        email[web] = self._webmail(int(web.sum()))
        self.email[idx] = email
        self.channel[idx] = C.CH_EDU
        self.tier[idx] = np.where(rng.random(k) < 0.9, C.TIER_FREE, C.TIER_BUILD)
        has_org = rng.random(m) < 0.5
        orgs = np.full(m, -1, np.int32)
        orgs[has_org] = self._new_orgs(int(has_org.sum()))
        self.org[idx] = orgs[local]
        self.verified[idx] = rng.random(k) < 0.3
        pay = np.full(k, -1, np.int32)
        paid = self.tier[idx] == C.TIER_BUILD
        pay[paid] = self._new_pay(int(paid.sum()))
        self.pay[idx] = pay
        # five assignment problems a week; students paste them with small edits
        weeks = days // 7 + 1
        t0 = np.array([self._new_templates(5 * weeks, self._topic_w(C.P_UNIV)) for _ in range(m)])
        self.t_off[idx], self.t_n[idx], self.t_pick[idx], self.t_stride[idx] = (
            t0[local],
            5 * weeks,
            5,
            5,
        )
        rows = np.zeros(m, np.int32)
        for c in range(m):
            deadline_dow = rng.integers(0, 7)
            dow = (np.arange(days) + self.start.weekday()) % 7
            before = (deadline_dow - dow) % 7 < 2
            rows[c] = self._special_row(np.where(before, 3.0, 1.0))
        self.special[idx] = rows[local]

    def _resellers(self, main: np.ndarray, cust: np.ndarray, n_res: int) -> None:
        rng, net = self.rng, self.net
        orgs = self._new_orgs(n_res)
        self.reseller_orgs = orgs
        # every reseller: a few datacenter /24s, one UA, one payment instrument, one domain
        e0 = net.pick(rng, C.IPT_DC, n_res)
        e1 = net.pick(rng, C.IPT_DC, n_res)
        b0, b1 = net.slash24(rng, e0), net.slash24(rng, e1)
        uaw = C.UA_W[C.P_RESELLER]
        ua = rng.choice(len(uaw), size=n_res, p=uaw / uaw.sum())
        pay = self._new_pay(n_res)
        dom = self._new_domains(n_res)
        cc = self._billing(n_res)
        self.reseller_net = (e0, b0, e1, b1, ua, pay)
        owner = np.arange(len(main)) % n_res
        owner_c = rng.choice(n_res, size=len(cust), p=rng.dirichlet(np.ones(n_res)))
        # the established reseller (most customers) is the one a campaign hides inside
        self.blend_reseller = int(np.argmax(np.bincount(owner_c, minlength=n_res)))
        for idx, who, pop in ((main, owner, C.P_RESELLER), (cust, owner_c, C.P_RCUST)):
            k = len(idx)
            self._common(idx, pop)
            self.org[idx] = orgs[who]
            self._set_net(idx, 0, e0[who], b0[who], 64)
            self._set_net(idx, 1, e1[who], b1[who], 64)
            self.p_net1[idx] = 0.5
            self.tz[idx] = self._tz_of(cc)[who]
            self.ua[idx] = np.where(rng.random(k) < 0.8, ua[who], self.ua[idx])
            self.channel[idx] = C.CH_RESELLER
            self.created[idx] = self._past_created(k, 700, 250)
            if pop == C.P_RESELLER:
                self.email[idx] = dom[who]
                self.tier[idx] = C.TIER_ENT
                self.pay[idx] = pay[who]
                self.verified[idx] = True
                self.n_keys[idx] = rng.integers(20, 200, k)
                self.bill_cc[idx] = cc[who]
            else:
                own_dom = rng.random(k) < 0.6
                email = self._webmail(k)
                email[own_dom] = self._new_domains(int(own_dom.sum()))
                self.email[idx] = email
                self.tier[idx] = np.where(rng.random(k) < 0.5, C.TIER_BUILD, C.TIER_SCALE)
                own_pay = rng.random(k) < 0.3
                p = pay[who].copy()
                p[own_pay] = self._new_pay(int(own_pay.sum()))
                self.pay[idx] = p
                self.verified[idx] = rng.random(k) < 0.5
                self.n_keys[idx] = rng.integers(1, 4, k)
                self.bill_cc[idx] = self._billing(k)
                self.created[idx] = self._created_mix(k)
            self.p_sp[idx] = 0.3
            self.sp_off[idx] = self._new_sys(k) + np.arange(k, dtype=np.int32)
            self.sp_n[idx] = 1

    def _hackathons(self, idx: np.ndarray) -> None:
        """Hackathon cohorts: sign up together at the venue on a Saturday morning, build with the
        sponsor's starter kit (shared prompt templates and system prompt) all weekend, and most
        stop afterwards."""
        rng, k, days, net = self.rng, len(idx), self.days, self.net
        if k == 0:
            return
        sizes = self._group_sizes(rng, k, 30, 10, 80)
        m = len(sizes)
        local = np.repeat(np.arange(m), sizes)
        self._common(idx, C.P_HACK)
        first_sat = (5 - self.start.weekday()) % 7
        sats = np.arange(first_sat - 7 * 6, days, 7)
        day = rng.choice(sats, m)
        inside = sats[sats >= 0]
        day[0] = rng.choice(inside) if len(inside) else 0  # every window sees one event
        at_uni = rng.random(m) < 0.5
        uni = rng.integers(0, len(C.UNIVERSITIES), m)
        entry = np.where(at_uni, net.univ[uni], net.pick(rng, C.IPT_BUS, m))
        venue = net.slash24(rng, entry)
        self._set_net(idx, 0, entry[local], venue[local], 256)
        cc = net.cc[entry]
        home = net.pick(rng, C.IPT_RES, k, cc[local])
        self._set_net(
            idx, 1, home, net.slash24(rng, home) + rng.integers(1, 250, k).astype(np.uint32), 2
        )
        self.p_net1[idx] = 0.25
        self.p_v6[idx] = 0.1
        tz = self._tz_of(cc)
        self.tz[idx] = tz[local]
        self.bill_cc[idx] = cc[local]
        t_kick = self.start_ms + day * DAY_MS + (rng.integers(9, 11, m) - tz) * HOUR_MS
        self.created[idx] = t_kick[local] + (rng.random(k) * 3 * HOUR_MS).astype(np.int64)
        email = self._webmail(k)
        own = rng.random(k)
        edu = own < 0.2
        email[edu] = (
            len(C.WEBMAIL)
            + np.where(at_uni, uni, rng.integers(0, len(C.UNIVERSITIES), m))[local][edu]
        )
        dom = own > 0.9
        email[dom] = self._new_domains(int(dom.sum()))
        self.email[idx] = email
        self.channel[idx] = np.where(rng.random(m) < 0.6, C.CH_STARTUP, C.CH_SELF)[local]
        self.channel[idx] = np.where(
            edu & (self.channel[idx] == C.CH_SELF), C.CH_EDU, self.channel[idx]
        )
        # sponsor credits: a build tier without a card on file for most
        self.tier[idx] = np.where(rng.random(k) < 0.6, C.TIER_BUILD, C.TIER_FREE)
        pay = np.full(k, -1, np.int32)
        has = rng.random(k) < 0.15
        pay[has] = self._new_pay(int(has.sum()))
        self.pay[idx] = pay
        self.verified[idx] = rng.random(k) < 0.1
        self.n_keys[idx] = rng.integers(1, 3, k)
        t0 = np.array([self._new_templates(6, self._topic_w(C.P_HACK)) for _ in range(m)])
        self.t_off[idx], self.t_n[idx], self.t_pick[idx] = t0[local], 6, 6
        self.sp_off[idx] = self._new_sys(m) + local
        self.sp_n[idx], self.p_sp[idx] = 1, 0.6
        # the weekend itself, then a few keep building at a lower pace
        d = np.arange(days)
        rows = np.zeros((m, 2), np.int32)
        for c in range(m):
            event = (d >= day[c]) & (d < day[c] + 2)
            rows[c, 0] = self._special_row(np.where(event, 12.0, 0.03))
            rows[c, 1] = self._special_row(np.where(event, 12.0, 0.6))
        keeps = rng.random(k) < 0.2
        self.special[idx] = rows[local, keeps.astype(np.int64)]

    # ---- attackers ------------------------------------------------------------------------------

    def _build_attackers(self) -> None:
        days = self.days
        specs = C.CAMPAIGN_SPECS[: C.CAMPAIGNS_PER_SCALE[self.scale]]
        acc_share = np.array([s[1] for s in specs])
        vol_share = np.array([s[2] for s in specs])
        budgets = np.floor(acc_share / acc_share.sum() * self.n_att).astype(int)
        budgets[0] += self.n_att - budgets.sum()
        vol_total = vol_share / vol_share.sum() * self.att_lines_day * days
        self.enf: list[tuple[int, int, int, int, int]] = []  # (acct, ms, action, reason, case)
        self.cases: list[str] = []
        for ci, (strategy, _a, _v, fs, fe) in enumerate(specs):
            s0 = min(days - 1, round(fs * days))
            e0 = max(s0 + 2, round(fe * days)) if fe < 1 else days + 30
            idx = self._take(int(budgets[ci]))
            cid = f"camp-{ci + 1:02d}"
            camp = self._campaign(ci, cid, strategy, idx, s0, e0)
            vol = self._volume(strategy, s0, e0)
            camp.volume = vol / max(vol.sum(), 1e-9) * vol_total[ci]
            self.campaigns.append(camp)

    def _volume(self, strategy: str, s0: int, e0: int) -> np.ndarray:
        d = np.arange(self.days)
        v = np.where((d >= s0) & (d < e0), 1.0, 0.0)
        ramp = np.clip((d - s0 + 1) / 3, 0, 1)
        down = np.clip((e0 - d) / 3, 0, 1)
        v *= ramp * down * self.rng.uniform(0.85, 1.15, self.days)
        if strategy == "release_chaser":
            for r in self.release_day:
                if r is not None and r < self.days:
                    v[r : r + 2] *= 2.5
        return v

    def _campaign(
        self, ci: int, cid: str, strategy: str, idx: np.ndarray, s0: int, e0: int
    ) -> Campaign:
        rng, days, k = self.rng, self.days, len(idx)
        pop = {
            "hydra": C.P_HYDRA,
            "thin_spread": C.P_THIN,
            "release_chaser": C.P_RELEASE,
            "reseller_blend": C.P_RBLEND,
            "quiet_paraphrase": C.P_QUIET,
            "aged_accounts": C.P_AGED,
        }[strategy]
        self._common(idx, pop)
        self.camp[idx] = ci
        self.rate_mult[idx] = rng.lognormal(0, C.RATE_SIGMA[pop], k)  # load balanced
        # --- when each account starts working for the campaign: an initial cohort, then growth;
        # replacements pull growth forward. For bought accounts this is the handover, not sign-up.
        init_frac = {
            "hydra": 0.4,
            "thin_spread": 0.7,
            "release_chaser": 0.6,
            "reseller_blend": 0.6,
            "quiet_paraphrase": 0.6,
            "aged_accounts": 0.7,
        }[strategy]
        n0 = max(1, round(k * init_frac))
        last = min(e0, days)
        lead = {"hydra": 10, "quiet_paraphrase": 14, "reseller_blend": 10}.get(strategy, 3)
        created = np.zeros(k, np.int64)
        if strategy in ("quiet_paraphrase", "reseller_blend"):
            # no sign-up bursts: accounts trickle in over the weeks before the start
            created[:n0] = self.start_ms + ((s0 - rng.random(n0) * lead) * DAY_MS).astype(np.int64)
        else:
            # sign-ups (or takeovers) in batches of ~30 accounts within a quarter of an hour
            n_batches = max(1, n0 // 30)
            batch_t = (self.start_ms + ((s0 - rng.random(n_batches) * lead) * DAY_MS)).astype(
                np.int64
            )
            created[:n0] = batch_t[rng.integers(0, n_batches, n0)] + (
                rng.random(n0) * 15 * MIN_MS
            ).astype(np.int64)
        growth = np.sort(
            self.start_ms
            + ((s0 + rng.random(k - n0) * max(last - s0, 1)) * DAY_MS).astype(np.int64)
        )
        created[n0:] = growth
        end = np.full(k, self.start_ms + e0 * DAY_MS if e0 <= days else NEVER, np.int64)
        # --- enforcement waves: T&S catches up days to weeks after the behaviour
        waves: list[dict] = []
        if strategy == "hydra":
            first, every = s0 + max(4, round(0.13 * days)), max(4, round(0.17 * days))
            wave_days = list(range(first, min(e0, days), every))
            frac = [rng.uniform(0.55, 0.85) for _ in wave_days]
        elif strategy == "release_chaser":
            r = self.release_day[0] if self.release_day[0] is not None else s0
            wave_days = [max(r, s0) + max(4, round(0.2 * days))]
            frac = [0.5]
        elif strategy == "reseller_blend":
            wave_days = [s0 + max(5, round(0.3 * days))]
            frac = [0.4]
        elif strategy == "aged_accounts":
            wave_days = [s0 + max(6, round(0.3 * days))]
            frac = [0.3]
        else:
            wave_days, frac = [], []  # spread thin or quiet: never caught inside the window
        next_growth = k - 1  # replacements consume the latest scheduled growth accounts
        banned = np.zeros(k, bool)
        for wday, f in zip(wave_days, frac, strict=True):
            if wday >= e0:
                break
            t_wave = self.start_ms + wday * DAY_MS
            elig = np.flatnonzero((created <= t_wave - 3 * DAY_MS) & ~banned)
            if len(elig) == 0:
                continue
            hit = np.sort(rng.choice(elig, size=max(1, round(len(elig) * f)), replace=False))
            case = len(self.cases)
            self.cases.append(f"TS-{2026}-{rng.integers(10_000, 99_999)}-{case:03d}")
            dec = (
                t_wave
                + (13 + rng.integers(0, 5)) * HOUR_MS
                + (rng.random(len(hit)) * 2 * HOUR_MS).astype(np.int64)
            )
            reason = np.where(
                rng.random(len(hit)) < (0.05 if strategy == "hydra" else 0),
                C.R_PAYMENT,
                C.R_DISTILL,
            )
            action = np.where(rng.random(len(hit)) < 0.1, C.A_SUSPEND, C.A_BAN)
            for a, t, ac, rs in zip(idx[hit], dec, action, reason, strict=True):
                self.enf.append((int(a), int(t), int(ac), int(rs), case))
            end[hit] = np.minimum(end[hit], dec)
            banned[hit] = True
            waves.append({"day": int(wday), "case_id": self.cases[case], "n_banned": len(hit)})
            # the operator replaces what was banned, one to three days later
            n_rep = round(len(hit) * (0.5 if strategy == "reseller_blend" else 1.0))
            for _ in range(n_rep):
                if next_growth < n0 or created[next_growth] <= t_wave + DAY_MS:
                    break
                created[next_growth] = t_wave + ((1 + rng.random() * 2) * DAY_MS)
                next_growth -= 1
            if strategy == "reseller_blend":
                self._wrong_bans_in_case(case, t_wave)
        created = np.minimum(created, self.end_ms - HOUR_MS)
        self.created[idx] = created
        self.end[idx] = end
        # --- identity, payment, network per strategy
        # operators' clocks: only non-bursty strategies follow a local rhythm at all
        self.tz[idx] = 8
        tw = self._topic_w(pop)
        n_t = {
            "hydra": min(400, max(20, k // 5)),
            "thin_spread": min(400, max(50, k // 2)),
            "release_chaser": min(300, max(20, k // 3)),
            "reseller_blend": min(200, max(20, k // 2)),
            "quiet_paraphrase": min(60, max(12, k // 6)),
            "aged_accounts": min(300, max(20, k // 3)),
        }[strategy]
        t0 = self._new_templates(n_t, tw)
        self.t_off[idx], self.t_n[idx], self.t_pick[idx] = t0, n_t, n_t
        sp0 = self._new_sys(3)
        self.sp_off[idx], self.sp_n[idx], self.p_sp[idx] = sp0, 3, 0.5
        self.n_keys[idx] = rng.integers(1, 3, k)
        {
            "hydra": self._hydra,
            "thin_spread": self._thin_spread,
            "release_chaser": self._release_chaser,
            "reseller_blend": self._reseller_blend,
            "quiet_paraphrase": self._quiet_paraphrase,
            "aged_accounts": self._aged_accounts,
        }[strategy](idx)
        return Campaign(
            cid=cid,
            strategy=strategy,
            start_day=s0,
            end_day=e0,
            accounts=idx,
            volume=np.zeros(days),
            waves=waves,
            n_templates=n_t,
            bursty=strategy == "hydra",
        )

    def _hydra(self, idx: np.ndarray) -> None:
        rng, net, k = self.rng, self.net, len(idx)
        cards = self._new_pay(max(2, k // 30))
        has = rng.random(k) < 0.8
        self.pay[idx] = np.where(has, cards[rng.integers(0, len(cards), k)], -1)
        self.tier[idx] = np.where(has, C.TIER_BUILD, C.TIER_FREE)
        n_px = max(2, k // 25)
        kinds = np.where(rng.random(n_px) < 0.6, C.IPT_DC, C.IPT_VPN)
        pe = np.array([net.pick(rng, int(t), 1)[0] for t in kinds])
        pb = net.slash24(rng, pe)
        who = rng.integers(0, n_px, k)
        self._set_net(idx, 0, pe[who], pb[who], 256)
        self._set_net(idx, 1, np.zeros(k, np.int64), np.zeros(k, np.uint32), 1, kind=1)
        self.p_net1[idx] = np.where(rng.random(k) < 0.3, 1.0, 0.1)
        self.p_v6[idx] = 0.0
        ch = rng.choice(
            [C.CH_SELF, C.CH_STARTUP, C.CH_EDU, C.CH_RESEARCH], size=k, p=[0.5, 0.2, 0.2, 0.1]
        )
        email = self._webmail(k, boost_proton=True)
        edu = ch == C.CH_EDU
        email[edu] = len(C.WEBMAIL) + rng.integers(0, len(C.UNIVERSITIES), edu.sum())
        fake = (~edu) & (rng.random(k) < 0.15)
        email[fake] = self._new_domains(max(3, k // 40))[
            rng.integers(0, max(3, k // 40), fake.sum())
        ]
        self.email[idx], self.channel[idx] = email, ch
        self.verified[idx] = rng.random(k) < 0.05
        self.bill_cc[idx] = self._billing(k)
        self.ua[idx] = rng.choice([0, 1, 2, 8], size=k, p=[0.2, 0.5, 0.1, 0.2])

    def _thin_spread(self, idx: np.ndarray) -> None:
        rng, net, k = self.rng, self.net, len(idx)
        has = rng.random(k) < 0.5
        pay = np.full(k, -1, np.int32)
        pay[has] = self._new_pay(int(has.sum()))
        self.pay[idx] = pay
        self.tier[idx] = np.where(has, C.TIER_BUILD, C.TIER_FREE)
        mob = rng.random(k) < 0.2
        me = net.pick(rng, C.IPT_MOB, k)
        self._set_net(idx, 0, me, net.slash24(rng, me) & np.uint32(0xFFFFF000), 4096)
        self.net_kind[idx, 0] = np.where(mob, 0, 1)  # most lines via residential proxies
        self.p_net1[idx] = 0.0
        self.p_v6[idx] = 0.1
        edu = rng.random(k) < 0.15
        email = self._webmail(k)
        email[edu] = len(C.WEBMAIL) + rng.integers(0, len(C.UNIVERSITIES), edu.sum())
        self.email[idx] = email
        self.channel[idx] = np.where(edu, C.CH_EDU, C.CH_SELF)
        self.verified[idx] = rng.random(k) < 0.02
        self.bill_cc[idx] = self._billing(k)
        self.tz[idx] = self._tz_of(self.bill_cc[idx])
        self.p_sp[idx] = 0.1

    def _release_chaser(self, idx: np.ndarray) -> None:
        rng, net, k = self.rng, self.net, len(idx)
        cards = self._new_pay(int(rng.integers(2, 5)))
        self.pay[idx] = cards[rng.integers(0, len(cards), k)]
        self.tier[idx] = np.where(rng.random(k) < 0.6, C.TIER_SCALE, C.TIER_BUILD)
        n_px = int(rng.integers(2, 7))
        pe = net.pick(rng, C.IPT_DC, n_px)
        pb = net.slash24(rng, pe)
        who = rng.integers(0, n_px, k)
        self._set_net(idx, 0, pe[who], pb[who], 128)
        doms = self._new_domains(int(rng.integers(3, 6)))
        self.email[idx] = doms[rng.integers(0, len(doms), k)]
        self.channel[idx] = np.where(rng.random(k) < 0.6, C.CH_STARTUP, C.CH_RESEARCH)
        self.verified[idx] = rng.random(k) < 0.15
        self.bill_cc[idx] = self._billing(1)[0]

    def _reseller_blend(self, idx: np.ndarray) -> None:
        """Sub-accounts of the established reseller: its IPs, card and user agent, signed up
        through it like its customers, with part of their traffic ordinary customer traffic."""
        rng, k = self.rng, len(idx)
        e0r, b0r, e1r, b1r, uar, payr = self.reseller_net
        r = self.blend_reseller
        self.org[idx] = self.reseller_orgs[r]
        self._set_net(idx, 0, np.full(k, e0r[r]), np.full(k, b0r[r]), 64)
        self._set_net(idx, 1, np.full(k, e1r[r]), np.full(k, b1r[r]), 64)
        self.p_net1[idx] = 0.5
        self.ua[idx] = np.where(rng.random(k) < 0.8, uar[r], self.ua[idx])
        cards = self._new_pay(2)
        self.pay[idx] = np.where(rng.random(k) < 0.7, payr[r], cards[rng.integers(0, 2, k)])
        self.tier[idx] = np.where(rng.random(k) < 0.5, C.TIER_BUILD, C.TIER_SCALE)
        email = self._webmail(k)
        own = rng.random(k) < 0.6
        email[own] = self._new_domains(int(own.sum()))
        self.email[idx] = email
        self.channel[idx] = C.CH_RESELLER
        self.verified[idx] = rng.random(k) < 0.5
        self.bill_cc[idx] = self._billing(k)
        self.alt_pop[idx] = C.P_RCUST
        self.p_alt[idx] = rng.uniform(0.2, 0.5, k)

    def _quiet_paraphrase(self, idx: np.ndarray) -> None:
        """Many unrelated-looking people: own cards or none, webmail, home and phone networks
        (one sticky exit per account, the rest rotating over residential and mobile pools), no
        system prompt, and paraphrased rather than filled-in templates (vocabulary.FLIPS_MIN)."""
        rng, net, k = self.rng, self.net, len(idx)
        has = rng.random(k) < 0.3
        pay = np.full(k, -1, np.int32)
        pay[has] = self._new_pay(int(has.sum()))
        self.pay[idx] = pay
        self.tier[idx] = np.where(has, C.TIER_BUILD, C.TIER_FREE)
        cc = self._billing(k)
        mob = rng.random(k) < 0.25
        e = np.where(mob, net.pick(rng, C.IPT_MOB, k, cc), net.pick(rng, C.IPT_RES, k, cc))
        self._set_net(idx, 0, e, net.slash24(rng, e), 256)
        self._set_net(idx, 1, np.zeros(k, np.int64), np.zeros(k, np.uint32), 1, kind=2)
        self.p_net1[idx] = rng.uniform(0.4, 0.8, k)
        self.p_v6[idx] = 0.15
        u = rng.random(k)
        email = self._webmail(k)
        edu = u < 0.1
        email[edu] = len(C.WEBMAIL) + rng.integers(0, len(C.UNIVERSITIES), edu.sum())
        dom = u > 0.95
        n_dom = max(3, k // 20)
        email[dom] = self._new_domains(n_dom)[rng.integers(0, n_dom, dom.sum())]
        self.email[idx] = email
        self.channel[idx] = np.where(
            edu, C.CH_EDU, np.where(rng.random(k) < 0.85, C.CH_SELF, C.CH_STARTUP)
        )
        self.verified[idx] = rng.random(k) < 0.05
        self.bill_cc[idx] = cc
        self.tz[idx] = self._tz_of(cc)
        self.p_sp[idx], self.sp_n[idx] = 0.0, 0

    def _aged_accounts(self, idx: np.ndarray) -> None:
        """Accounts bought from their owners: signed up months or years ago, with the owner's
        card, e-mail and home network and ordinary use until the handover (the campaign's
        schedule); then the operator's proxies, client and templates, and for half of them one
        of the operator's cards."""
        rng, net, k = self.rng, self.net, len(idx)
        self.handover[idx] = self.created[idx]
        age = np.minimum(60 + rng.exponential(250, k), 900)
        self.created[idx] = np.minimum(self.start_ms, self.handover[idx]) - (age * DAY_MS).astype(
            np.int64
        )
        self.alt_pop[idx] = C.P_IND
        self.alt_rate[idx] = rng.lognormal(0, C.RATE_SIGMA[C.P_IND], k)
        w = C.UA_W[C.P_IND]
        self.ua_prior[idx] = rng.choice(len(w), size=k, p=w / w.sum())
        self.ua[idx] = rng.choice([0, 1, 2, 8, 9], size=k, p=[0.2, 0.4, 0.2, 0.1, 0.1])
        cc = self._billing(k)
        self.bill_cc[idx] = cc
        # slot 1: the owner's home line; slot 0: the operator's exits (datacenter and VPN
        # /24s shared across the campaign, or rotating residential proxies)
        home = net.pick(rng, C.IPT_RES, k, cc)
        self._set_net(
            idx,
            1,
            home,
            net.slash24(rng, home) + rng.integers(1, 250, k).astype(np.uint32),
            rng.integers(1, 5, k).astype(np.uint32),
        )
        n_px = max(2, k // 20)
        kinds = np.where(rng.random(n_px) < 0.5, C.IPT_DC, C.IPT_VPN)
        pe = np.array([net.pick(rng, int(t), 1)[0] for t in kinds])
        pb = net.slash24(rng, pe)
        who = rng.integers(0, n_px, k)
        self._set_net(idx, 0, pe[who], pb[who], 256)
        self.net_kind[idx, 0] = np.where(rng.random(k) < 0.5, 0, 1)
        self.p_net1[idx] = 0.0
        self.p_v6[idx] = 0.1
        has = rng.random(k) < 0.7
        pay = np.full(k, -1, np.int32)
        pay[has] = self._new_pay(int(has.sum()))
        self.pay[idx] = pay
        self.tier[idx] = np.where(has, C.TIER_BUILD, C.TIER_FREE)
        u = rng.random(k)
        email = self._webmail(k)
        edu = u < 0.05
        email[edu] = len(C.WEBMAIL) + rng.integers(0, len(C.UNIVERSITIES), edu.sum())
        dom = u > 0.9
        email[dom] = self._new_domains(int(dom.sum()))
        self.email[idx] = email
        self.channel[idx] = np.where(
            edu, C.CH_EDU, np.where(rng.random(k) < 0.9, C.CH_SELF, C.CH_STARTUP)
        )
        self.verified[idx] = rng.random(k) < 0.25
        swap = rng.random(k) < 0.5
        cards = self._new_pay(max(2, k // 40))
        new = cards[rng.integers(0, len(cards), k)]
        before = swap & (self.handover[idx] < self.start_ms)
        self.pay[idx[before]] = new[before]
        self.tier[idx[before]] = np.maximum(self.tier[idx[before]], C.TIER_BUILD)
        later = swap & ~before
        self.upd_acct.append(idx[later])
        self.upd_ms.append(
            self.handover[idx[later]] + (rng.random(later.sum()) * 6 * HOUR_MS).astype(np.int64)
        )
        self.upd_pay.append(new[later])

    def _wrong_bans_in_case(self, case: int, t_wave: int) -> None:
        """A case against a reseller's customers also sweeps in two legit customers (appealed)."""
        rng = self.rng
        cust = np.flatnonzero(
            (self.pop == C.P_RCUST)
            & (self.org == self.reseller_orgs[self.blend_reseller])
            & (self.created < t_wave - 3 * DAY_MS)
        )
        if len(cust) == 0:
            return
        for a in rng.choice(cust, size=min(2, len(cust)), replace=False):
            t = t_wave + 14 * HOUR_MS + int(rng.integers(0, 2 * HOUR_MS))
            back = t + int((2 + rng.random() * 6) * DAY_MS)
            self.enf.append((int(a), t, C.A_BAN, C.R_DISTILL, case))
            self.enf.append((int(a), back, C.A_REINSTATE, C.R_APPEAL, case))
            self.pause_from[a], self.pause_to[a] = t, back
            self.wrong_ban[a] = True

    # ---- final tables ---------------------------------------------------------------------------

    def _finish(self) -> None:
        rng, n, days = self.rng, self.n, self.days
        assert self._next == n, (self._next, n)
        self.account_id = random_ids(rng, n, "acct_", 20)
        self.org_id = np.concatenate(self.org_ids) if self.org_ids else np.zeros(0, "S24")
        self.template = np.concatenate(self.templates)
        self.tmpl_topic = np.concatenate(self.template_topic)
        self.sys_prompt = np.concatenate(self.sys_prompts)
        # the build-time pieces are no longer needed (memory is the budget at seed scale)
        self.org_ids, self.templates, self.template_topic, self.sys_prompts = [], [], [], []
        self.special_mult = (
            np.stack(self.special_rows) if self.special_rows else np.ones((1, days), np.float32)
        )
        self.sweep_start = (
            np.stack(self.sweep_rows) if self.sweep_rows else np.full((1, days), -1, np.int8)
        )
        self.key_off = np.concatenate([[0], np.cumsum(self.n_keys)[:-1]]).astype(np.int64)
        self.n_keys_total = int(self.n_keys.sum())
        self.key_id = random_ids(rng, self.n_keys_total, "key_", 20)
        # per-account topic preferences around the population's mix
        self.topic_cdf = np.zeros((n, 9), np.float32)
        for p in range(C.N_POPS):
            sel = np.flatnonzero(self.pop == p)
            if len(sel):
                w = rng.dirichlet(C.TOPIC_BASE[p] * C.TOPIC_CONCENTRATION[p] + 0.01, len(sel))
                self.topic_cdf[sel] = np.cumsum(w, axis=1)
        self.topic_cdf[:, -1] = 1.0
        self._legit_enforcement()
        self._calibrate()
        self._registry_events()
        self._enforcement_table()

    def _legit_enforcement(self) -> None:
        """Wrong distillation bans (appealed), payment fraud, other abuse among legit accounts."""
        rng, days = self.rng, self.days
        legit = self.camp < 0
        look = np.flatnonzero(
            legit
            & np.isin(self.pop, [C.P_EVAL, C.P_UNIV, C.P_RCUST, C.P_START])
            & (self.created < self.start_ms)
            & ~self.wrong_ban
        )
        n_wrong = max(2, round(0.0004 * self.n_legit))
        lo, hi = max(1, round(0.25 * days)), max(2, round(0.75 * days))
        for a in rng.choice(look, size=min(n_wrong, len(look)), replace=False):
            case = len(self.cases)
            self.cases.append(f"TS-2026-{rng.integers(10_000, 99_999)}-{case:03d}")
            t = (
                self.start_ms
                + int(rng.integers(lo, hi)) * DAY_MS
                + int(rng.integers(9 * HOUR_MS, 20 * HOUR_MS))
            )
            back = t + int((2 + rng.random() * 6) * DAY_MS)
            self.enf.append((int(a), t, C.A_BAN, C.R_DISTILL, case))
            self.enf.append((int(a), back, C.A_REINSTATE, C.R_APPEAL, case))
            self.pause_from[a], self.pause_to[a] = t, back
            self.wrong_ban[a] = True
        ind = np.flatnonzero(legit & (self.pop == C.P_IND) & ~self.wrong_ban)
        n_pf = max(1, round(0.0003 * self.n_legit))
        n_ab = max(1, round(0.0002 * self.n_legit))
        pick = rng.choice(ind, size=min(n_pf + n_ab, len(ind)), replace=False)
        for j, a in enumerate(pick):
            t = self.start_ms + int(rng.integers(0, days * DAY_MS))
            if j < n_pf:
                self.enf.append((int(a), t, C.A_BAN, C.R_PAYMENT, -1))
                self.end[a] = min(self.end[a], t)
            else:
                self.enf.append((int(a), t, C.A_SUSPEND, C.R_ABUSE, -1))
                if rng.random() < 0.5:
                    back = t + int((3 + rng.random() * 7) * DAY_MS)
                    self.enf.append((int(a), back, C.A_REINSTATE, C.R_APPEAL, -1))
                    self.pause_from[a], self.pause_to[a] = t, back
                else:
                    self.end[a] = min(self.end[a], t)

    # ---- daily intensity ------------------------------------------------------------------------

    def overlap(
        self, d: int, since: np.ndarray | None = None, until: np.ndarray | None = None
    ) -> np.ndarray:
        """Fraction of day d during which each account exists (from `since`, default its
        creation, until `until`, default its end), is not banned and not paused."""
        d0 = self.start_ms + d * DAY_MS
        d1 = d0 + DAY_MS
        lo = np.maximum(self.created if since is None else since, d0)
        hi = np.minimum(self.end if until is None else until, d1)
        ov = np.clip(hi - lo, 0, DAY_MS).astype(np.float64)
        plo = np.maximum(np.maximum(self.pause_from, lo), d0)
        phi = np.minimum(np.minimum(self.pause_to, hi), d1)
        ov -= np.clip(phi - plo, 0, DAY_MS)
        return ov / DAY_MS

    def _legit_intensity(self, d: int) -> tuple[np.ndarray, np.ndarray]:
        """(probability active, expected lines if active) before population calibration."""
        weekend = (self.start.weekday() + d) % 7 >= 5
        p = C.P_ACTIVE[self.pop] * (C.WEEKEND[self.pop] if weekend else 1.0)
        mult = np.where(self.special >= 0, self.special_mult[np.maximum(self.special, 0), d], 1.0)
        ev = self.pop == C.P_EVAL
        p = np.where(ev, 1.0, p)  # a lab's activity is driven by its sweep schedule
        p = np.minimum(p, 1.0)
        r = self.rate_mult * mult * self.overlap(d)
        return p, r

    def _calibrate(self) -> None:
        legit = self.camp < 0
        expected = np.zeros(C.N_POPS)
        for d in range(self.days):
            p, r = self._legit_intensity(d)
            expected += np.bincount(self.pop[legit], weights=(p * r)[legit], minlength=C.N_POPS)
        target = C.LEGIT_LINE_SHARE * self.legit_lines_day * self.days
        k = np.ones(C.N_POPS)
        for pop in range(len(C.LEGIT_POPS)):
            if expected[pop] > 0:
                k[pop] = target[pop] / expected[pop]
        self.pop_rate = k

    def intensity(self, d: int) -> tuple[np.ndarray, np.ndarray]:
        """Per account: probability of being active on day d and expected lines when active."""
        p, r = self._legit_intensity(d)
        r = r * self.pop_rate[self.pop]
        att = self.camp >= 0
        ov = self.overlap(d, np.maximum(self.created, self.handover))
        w = self.rate_mult * ov * att
        tot = np.bincount(self.camp[att], weights=w[att], minlength=len(self.campaigns))
        vol = np.array([c.volume[d] for c in self.campaigns])
        share = np.where(tot > 0, vol / np.maximum(tot, 1e-12), 0.0)
        pa = np.where(np.isin(self.pop, (C.P_THIN, C.P_QUIET)), C.P_ACTIVE[self.pop], 1.0)
        ra = w * share[np.maximum(self.camp, 0)] / pa
        p = np.where(att, pa, p)
        r = np.where(att, ra, r)
        # a bought account before its handover: its previous owner's ordinary use
        d0 = self.start_ms + d * DAY_MS
        prior = np.flatnonzero(att & (self.handover > d0) & (self.created < d0 + DAY_MS))
        if len(prior):
            weekend = (self.start.weekday() + d) % 7 >= 5
            p_own = C.P_ACTIVE[C.P_IND] * (C.WEEKEND[C.P_IND] if weekend else 1.0)
            r_own = (
                self.alt_rate[prior]
                * self.pop_rate[C.P_IND]
                * self.overlap(d, until=self.handover)[prior]
            )
            after = ov[prior] > 0  # the handover falls on this day: active either way
            p[prior] = np.where(after, 1.0, p_own)
            r[prior] = np.where(after, ra[prior] + p_own * r_own, r_own)
        return p, r

    # ---- registry and enforcement schedules -----------------------------------------------------

    def _registry_events(self) -> None:
        """Creation records, snapshot rows and later updates, each with its landing delay."""
        rng, n = self.rng, self.n
        snap = self.created < self.start_ms
        in_win = (~snap) & (self.created < self.end_ms)
        upd_snap = self.created + (
            rng.random(n) * (self.start_ms - self.created) * (rng.random(n) < 0.4)
        ).astype(np.int64)
        acct = [np.flatnonzero(snap), np.flatnonzero(in_win)]
        upd = [upd_snap[snap], self.created[in_win] + rng.integers(0, 2000, in_win.sum())]
        kind = [np.zeros(snap.sum(), np.int8), np.zeros(in_win.sum(), np.int8)]
        # updates inside the window: tier upgrades, new cards, verification
        rate = np.where(self.camp >= 0, 0.02, 0.004) * self.days
        n_up = rng.poisson(rate)
        ua = np.repeat(np.arange(n), n_up)
        lo = np.maximum(self.created[ua], self.start_ms)
        hi = np.minimum(np.minimum(self.end[ua], self.end_ms), self.end_ms)
        ok = hi > lo + MIN_MS
        ua, lo, hi = ua[ok], lo[ok], hi[ok]
        t = lo + (rng.random(len(ua)) * (hi - lo)).astype(np.int64)
        acct.append(ua)
        upd.append(t)
        kind.append(rng.integers(1, 4, len(ua)).astype(np.int8))
        given = [np.full(len(x), -1, np.int32) for x in acct]
        # scheduled card changes (kind 4: the card given), inside the account's life and window
        for ga, gt, gp in zip(self.upd_acct, self.upd_ms, self.upd_pay, strict=True):
            ok = (gt < np.minimum(self.end[ga], self.end_ms)) & (gt >= self.start_ms)
            acct.append(ga[ok])
            upd.append(gt[ok])
            kind.append(np.full(int(ok.sum()), 4, np.int8))
            given.append(gp[ok].astype(np.int32))
        a = np.concatenate(acct)
        u = np.concatenate(upd)
        k = np.concatenate(kind)
        g = np.concatenate(given)
        # one record per (account, updated_at): nudge equal times apart
        order = np.lexsort((u, a))
        a, u, k, g = a[order], u[order], k[order], g[order]
        same = np.flatnonzero((a[1:] == a[:-1]) & (u[1:] <= u[:-1])) + 1
        for i in same:
            u[i] = u[i - 1] + 1
        self.reg_acct, self.reg_upd, self.reg_kind = a, u, k
        self.reg_snapshot = u < self.start_ms
        # state after each update, cumulative per account: tier upgrades (to at most scale),
        # verification, and the latest card (a new one, or the one given)
        pos = np.arange(len(a))
        first = np.maximum.accumulate(np.where(np.r_[True, a[1:] != a[:-1]], pos, 0))
        base_tier = self.tier[a]
        ups = np.cumsum(k == 1)
        ups = ups - ups[first] + (k[first] == 1)
        tier = np.where(
            base_tier >= C.TIER_SCALE, base_tier, np.minimum(base_tier + ups, C.TIER_SCALE)
        ).astype(base_tier.dtype)
        ver = self.verified[a] | (np.maximum.accumulate(np.where(k == 2, pos, -1)) >= first)
        new_card = (k == 3) | (
            (k == 1) & (ups == 1) & (base_tier < C.TIER_SCALE) & (self.pay[a] < 0)
        )
        value = g.copy()
        value[new_card] = self._new_pay(int(new_card.sum()))
        last = np.maximum.accumulate(np.where(value >= 0, pos, -1))
        pay = np.where(last >= first, value[np.maximum(last, 0)], self.pay[a]).astype(np.int32)
        self.pay_fp_arr = np.concatenate(self.pay_fp)
        self.pay_fp = []
        self.reg_tier, self.reg_verified, self.reg_pay = tier, ver, pay
        lag = rng.choice(4, size=len(a), p=[0.7, 0.15, 0.1, 0.05])
        lag[self.reg_snapshot] = 0
        self.reg_lag = lag.astype(np.int8)
        self.reg_day = np.where(self.reg_snapshot, 0, (u - self.start_ms) // DAY_MS)

    def _enforcement_table(self) -> None:
        e = np.array(self.enf, dtype=np.int64).reshape(-1, 5)
        e = e[np.lexsort((e[:, 0], e[:, 1]))]
        self.enf_acct, self.enf_ms = e[:, 0], e[:, 1]
        self.enf_action, self.enf_reason, self.enf_case = e[:, 2], e[:, 3], e[:, 4]
        self.enf_day = (self.enf_ms - self.start_ms) // DAY_MS
        self.enf_lag = self.rng.choice(3, size=len(e), p=[0.85, 0.1, 0.05]).astype(np.int8)
