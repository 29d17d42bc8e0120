"""Static vocabularies and behaviour profiles of the synthetic world.

Everything here is data, not logic. Legitimate populations and attacker strategies draw
networks, user agents and e-mail domains from the SAME tables (with different weights), so that no
artefact names a role: the detector has to learn behaviour, not vocabulary.
"""

from __future__ import annotations

import numpy as np

from core import enums

# --- sizes -------------------------------------------------------------------------------------

# accounts in the registry, interaction lines a day (approximate; Poisson noise on top).
SCALES: dict[str, tuple[int, int]] = {
    "tiny": (3_000, 5_000),
    "small": (20_000, 35_000),
    "medium": (100_000, 250_000),
    "seed": (275_000, 1_300_000),
}
# The reported campaign: 25,000 attacker accounts and 28.8 M interactions over 45 days; every
# scale keeps those proportions of its own size.
ATTACKER_ACCOUNT_SHARE = 25_000 / 275_000
ATTACKER_LINES_PER_DAY_SHARE = (28_800_000 / 45) / 1_300_000
LINES_PER_FILE = 500_000  # one output file per ~500k lines so Spark can split a day

# --- enums of the contract ---------------------------------------------------------------------

TOPICS = list(enums.TOPICS)
T_CODING, T_MATH, T_AGENTIC, T_DATA, T_WRITING, T_CHAT, T_VISION, T_TRANSL, T_OTHER = range(9)
UNKNOWN_TOPICS = ["legal", "medical"]  # newer classifier labels: optional enum, become null
IP_TYPES = list(enums.IP_TYPES)
IPT_RES, IPT_MOB, IPT_BUS, IPT_EDU, IPT_DC, IPT_VPN = range(6)
UNKNOWN_IP_TYPE = "hosting"
STATUSES = list(enums.STATUSES)
ENDPOINTS = list(enums.ENDPOINTS)
SIGNUP_CHANNELS = list(enums.SIGNUP_CHANNELS)
CH_SELF, CH_EDU, CH_STARTUP, CH_RESEARCH, CH_ENTERPRISE, CH_RESELLER = range(6)
TIERS = list(enums.TIERS)
TIER_FREE, TIER_BUILD, TIER_SCALE, TIER_ENT = range(4)
ACTIONS = list(enums.ACTIONS)
A_BAN, A_SUSPEND, A_REINSTATE = range(3)
REASONS = list(enums.ENFORCEMENT_REASONS)
R_DISTILL, R_PAYMENT, R_ABUSE, R_APPEAL = range(4)

# Models: three families; two releases inside the window (fractions of the window length).
MODELS = [
    "claude-opus-4-6",
    "claude-sonnet-4-6",
    "claude-haiku-4-5",
    "claude-opus-4-7",
    "claude-sonnet-4-7",
]
FAMILY_OLD = [0, 1, 2]  # model index per family before its release
FAMILY_NEW = [3, 4, 2]  # after (haiku gets no release)
RELEASE_FRACTION = [0.45, 0.72, None]
RELEASE_HOUR_UTC = 16

# --- populations -------------------------------------------------------------------------------

LEGIT_POPS = [
    "individual",
    "startup",
    "enterprise_batch",
    "eval_lab",
    "university_class",
    "reseller",
    "reseller_customer",
    "hackathon",
]
# Attacker strategies. hydra: many new accounts on shared cards, proxies and templates, in
# synchronised bursts. thin_spread: fewer requests per account over rotating residential proxies.
# release_chaser: moves to a new model within hours of its release. reseller_blend: sub-accounts
# of an established reseller (its IPs, user agents, card), part of their traffic ordinary.
# quiet_paraphrase: a few requests a day per account over many residential and mobile networks,
# paraphrased templates. aged_accounts: bought accounts with a long ordinary history, taken over.
STRATEGIES = [
    "hydra",
    "thin_spread",
    "release_chaser",
    "reseller_blend",
    "quiet_paraphrase",
    "aged_accounts",
]
POPS = LEGIT_POPS + STRATEGIES
(
    P_IND,
    P_START,
    P_ENT,
    P_EVAL,
    P_UNIV,
    P_RESELLER,
    P_RCUST,
    P_HACK,
    P_HYDRA,
    P_THIN,
    P_RELEASE,
    P_RBLEND,
    P_QUIET,
    P_AGED,
) = range(14)
N_POPS = len(POPS)

# legit account share and legit line share per population (sum to 1 each)
LEGIT_ACCOUNT_SHARE = np.array([0.687, 0.12, 0.02, 0.005, 0.08, 0.001, 0.075, 0.012])
LEGIT_LINE_SHARE = np.array([0.16, 0.22, 0.20, 0.10, 0.08, 0.12, 0.10, 0.02])

_EVENING = [
    1,
    0.6,
    0.4,
    0.3,
    0.3,
    0.4,
    0.8,
    1.5,
    2.5,
    3,
    3.2,
    3.4,
    3.6,
    3.4,
    3.2,
    3.2,
    3.4,
    3.8,
    4.2,
    4.6,
    4.8,
    4.4,
    3.4,
    2,
]
_OFFICE = [
    0.3,
    0.2,
    0.2,
    0.2,
    0.2,
    0.3,
    0.6,
    1.5,
    3.5,
    5,
    5.5,
    5.5,
    4.5,
    5,
    5.5,
    5.5,
    5,
    4,
    2.5,
    1.8,
    1.5,
    1.2,
    0.8,
    0.5,
]
_NIGHT = [
    6,
    8,
    8,
    8,
    6,
    3,
    1,
    0.5,
    0.4,
    0.4,
    0.4,
    0.4,
    0.4,
    0.4,
    0.4,
    0.4,
    0.4,
    0.4,
    0.5,
    0.5,
    0.6,
    0.8,
    1.5,
    3,
]
_STUDENT = [
    1.5,
    1,
    0.5,
    0.3,
    0.2,
    0.2,
    0.3,
    0.6,
    1.5,
    3,
    4,
    4,
    3.5,
    4,
    4.5,
    4.5,
    4,
    3.5,
    3.5,
    4,
    4.5,
    4.5,
    3.5,
    2.5,
]
_HACK = [3, 2.5, 2, 1.5, 1, 0.6, 0.5, 0.6, 1.5, 3, 4, 4, 3.5, 4, 4, 4, 4, 4, 3.5, 3.5, 4, 4, 4, 3.5]
_FLAT = [1.0] * 24
# local-time hour profile per population (attackers: hydra is overridden by its burst schedule;
# the quiet campaign keeps its accounts to evening hours, like the people it imitates)
HOURLY = np.array(
    [
        _EVENING,
        _OFFICE,
        _NIGHT,
        _OFFICE,
        _STUDENT,
        _FLAT,
        _OFFICE,
        _HACK,
        _FLAT,
        _EVENING,
        _FLAT,
        _FLAT,
        _EVENING,
        _FLAT,
    ],
    dtype=np.float64,
)
HOURLY_CDF = np.cumsum(HOURLY / HOURLY.sum(1, keepdims=True), axis=1)

WEEKEND = np.array([1.1, 0.35, 0.6, 0.3, 0.25, 0.85, 0.7, 1.0, 1.0, 1.0, 1.0, 0.9, 1.1, 1.0])
P_ACTIVE = np.array([0.22, 0.75, 0.95, 0.6, 0.5, 1.0, 0.8, 0.9, 1.0, 0.7, 1.0, 0.9, 0.75, 1.0])
RATE_SIGMA = np.array([1.2, 1.0, 0.6, 0.5, 0.6, 0.7, 1.0, 0.8, 0.3, 0.3, 0.3, 0.6, 0.4, 0.3])

TOPIC_BASE = np.array(
    [
        [0.18, 0.06, 0.03, 0.06, 0.20, 0.30, 0.06, 0.06, 0.05],  # individual
        [0.35, 0.04, 0.25, 0.12, 0.08, 0.06, 0.04, 0.03, 0.03],  # startup
        [0.05, 0.02, 0.05, 0.35, 0.15, 0.03, 0.05, 0.20, 0.10],  # enterprise_batch
        [0.35, 0.40, 0.15, 0.03, 0.02, 0.02, 0.02, 0.005, 0.005],  # eval_lab
        [0.35, 0.30, 0.05, 0.10, 0.10, 0.05, 0.02, 0.02, 0.01],  # university_class
        [0.25, 0.08, 0.12, 0.10, 0.15, 0.18, 0.04, 0.05, 0.03],  # reseller
        [0.25, 0.08, 0.12, 0.10, 0.15, 0.18, 0.04, 0.05, 0.03],  # reseller_customer
        [0.45, 0.05, 0.28, 0.10, 0.04, 0.03, 0.03, 0.01, 0.01],  # hackathon
        [0.35, 0.38, 0.22, 0.01, 0.01, 0.01, 0.005, 0.005, 0.01],  # hydra
        [0.28, 0.25, 0.12, 0.05, 0.10, 0.12, 0.03, 0.02, 0.03],  # thin_spread: tries to look normal
        [0.30, 0.45, 0.20, 0.02, 0.01, 0.01, 0.005, 0.0025, 0.0025],  # release_chaser
        [
            0.35,
            0.35,
            0.20,
            0.03,
            0.02,
            0.02,
            0.01,
            0.01,
            0.01,
        ],  # reseller_blend (its harvesting part)
        [0.30, 0.36, 0.14, 0.04, 0.05, 0.05, 0.02, 0.02, 0.02],  # quiet_paraphrase
        [
            0.34,
            0.36,
            0.22,
            0.02,
            0.02,
            0.02,
            0.01,
            0.005,
            0.005,
        ],  # aged_accounts (after the takeover)
    ]
)
TOPIC_CONCENTRATION = np.array(
    [8, 6, 10, 20, 15, 5, 3, 10, 40, 15, 40, 30, 15, 30], dtype=np.float64
)
TOPIC_CDF = np.cumsum(TOPIC_BASE / TOPIC_BASE.sum(1, keepdims=True), axis=1)

P_BATCH = np.array([0.002, 0.03, 0.85, 0.35, 0, 0.05, 0.03, 0.01, 0.12, 0, 0.05, 0.03, 0, 0.08])
P_THINKING = np.array(
    [0.12, 0.30, 0.05, 0.75, 0.30, 0.20, 0.25, 0.35, 0.85, 0.45, 0.90, 0.70, 0.65, 0.80]
)
# gateway's chain-of-thought request score: classes ask for worked solutions; the quiet
# campaign's paraphrases ask for reasoning less formulaically than a fixed template does
COT_BETA = np.array(
    [
        [1.0, 9],
        [1.2, 8],
        [0.8, 12],
        [5, 2.5],
        [2.5, 4],
        [1.3, 7],
        [1.3, 7],
        [1.5, 6],
        [7, 2],
        [2.5, 3],
        [8, 2],
        [5, 2.5],
        [2.5, 3],
        [6, 2],
    ]
)
IN_TOK = np.array(
    [
        [6.0, 1.1],
        [7.5, 1.2],
        [7.8, 0.4],
        [6.6, 0.6],
        [5.8, 0.9],
        [7.0, 1.3],
        [7.0, 1.2],
        [7.2, 1.0],
        [6.4, 0.5],
        [6.2, 0.8],
        [6.5, 0.5],
        [6.4, 0.6],
        [6.2, 0.7],
        [6.4, 0.5],
    ]
)
OUT_TOK = np.array(
    [
        [6.0, 0.9],
        [6.3, 1.0],
        [5.5, 0.4],
        [7.3, 0.7],
        [6.3, 0.8],
        [6.2, 1.0],
        [6.2, 1.0],
        [6.6, 0.9],
        [7.6, 0.5],
        [7.0, 0.7],
        [7.8, 0.5],
        [7.4, 0.6],
        [7.3, 0.6],
        [7.6, 0.5],
    ]
)
TURNS_P = np.array(
    [0.45, 0.35, 0.9, 0.85, 0.5, 0.4, 0.4, 0.35, 0.9, 0.6, 0.92, 0.85, 0.7, 0.9]
)  # geometric
P_TOOLS = np.array(
    [0.02, 0.30, 0.05, 0.10, 0.02, 0.15, 0.15, 0.40, 0.05, 0.05, 0.05, 0.05, 0.04, 0.05]
)
P_IMAGE = np.array(
    [0.04, 0.03, 0.08, 0.02, 0.05, 0.04, 0.04, 0.03, 0.005, 0.02, 0.002, 0.005, 0.01, 0.005]
)
_OK = [0.975, 0.012, 0.008, 0.003, 0.002]
_BUSY = [0.95, 0.01, 0.03, 0.005, 0.005]
STATUS_W = np.array(
    [
        _OK,
        _OK,
        [0.98, 0.01, 0.005, 0.003, 0.002],
        _BUSY,
        _OK,
        _OK,
        _OK,
        [0.96, 0.015, 0.015, 0.005, 0.005],
        [0.93, 0.01, 0.05, 0.005, 0.005],
        _OK,
        [0.92, 0.01, 0.06, 0.005, 0.005],
        _BUSY,
        _OK,
        _BUSY,
    ]
)
STATUS_CDF = np.cumsum(STATUS_W / STATUS_W.sum(1, keepdims=True), axis=1)
FAMILY_W = np.array(
    [
        [0.25, 0.55, 0.2],
        [0.2, 0.5, 0.3],
        [0.1, 0.4, 0.5],
        [0.45, 0.4, 0.15],
        [0.2, 0.6, 0.2],
        [0.25, 0.5, 0.25],
        [0.25, 0.5, 0.25],
        [0.3, 0.5, 0.2],
        [0.7, 0.28, 0.02],
        [0.5, 0.45, 0.05],
        [0.95, 0.05, 0],
        [0.6, 0.38, 0.02],
        [0.55, 0.42, 0.03],
        [0.7, 0.28, 0.02],
    ]
)
FAMILY_CDF = np.cumsum(FAMILY_W / FAMILY_W.sum(1, keepdims=True), axis=1)
ADOPT_TAU_DAYS = np.array([6, 4, 25, 0.3, 10, 3, 5, 2, 2, 5, 0.05, 3, 3, 2], dtype=np.float64)
P_TEMPLATED = np.array(
    [0, 0.15, 0.95, 0.9, 0.55, 0.02, 0.05, 0.45, 0.9, 0.75, 0.92, 0.85, 0.85, 0.9]
)
# SimHash bits a templated prompt differs from its template by: from FLIPS_MIN to FLIPS_MAX.
# Filled-in templates differ in 0-4 bits (identical LSH bands); a paraphrase in a few more.
FLIPS_MIN = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0], dtype=np.int64)
FLIPS_MAX = np.array([0, 8, 4, 0, 4, 0, 3, 4, 3, 3, 2, 3, 9, 3], dtype=np.int64)
P_COMMON_PROMPT = np.array([0.015, 0.002, 0, 0, 0.01, 0.01, 0.01, 0.01, 0, 0.01, 0, 0, 0.01, 0])

# --- networks ----------------------------------------------------------------------------------
# (asn, country, weight). Blocks of /16 are assigned per entry at world build.
RESIDENTIAL = [
    (7922, "US", 8),
    (20115, "US", 5),
    (7018, "US", 5),
    (701, "US", 4),
    (22773, "US", 2),
    (2856, "GB", 3),
    (5089, "GB", 2),
    (3320, "DE", 3),
    (3209, "DE", 2),
    (3215, "FR", 2),
    (12322, "FR", 2),
    (24560, "IN", 3),
    (45609, "IN", 2),
    (4713, "JP", 2),
    (2516, "JP", 2),
    (1221, "AU", 1),
    (812, "CA", 2),
    (577, "CA", 1),
    (27699, "BR", 2),
    (28573, "BR", 1),
    (4766, "KR", 2),
    (9318, "KR", 1),
    (9506, "SG", 1),
    (3352, "ES", 1),
    (3269, "IT", 1),
    (1136, "NL", 1),
    (6830, "PL", 1),
    (8151, "MX", 1),
    (9121, "TR", 1),
    (7552, "VN", 1),
    (5432, "BE", 1),
    (3301, "SE", 1),
]
MOBILE = [
    (21928, "US", 4),
    (22394, "US", 3),
    (55836, "IN", 4),
    (25135, "GB", 2),
    (26599, "BR", 1),
    (9644, "KR", 1),
    (3209, "DE", 1),
    (17676, "JP", 1),
]
DATACENTER = [
    (16509, "US", 8),
    (16509, "IE", 2),
    (16509, "DE", 2),
    (16509, "JP", 1),
    (16509, "SG", 1),
    (15169, "US", 4),
    (396982, "US", 3),
    (8075, "US", 4),
    (8075, "NL", 2),
    (14061, "US", 2),
    (14061, "DE", 1),
    (24940, "DE", 2),
    (24940, "FI", 1),
    (16276, "FR", 2),
    (16276, "CA", 1),
    (63949, "US", 1),
    (31898, "US", 1),
    (45102, "SG", 1),
    (132203, "SG", 1),
    (20473, "US", 1),
]
VPN = [
    (9009, "GB", 2),
    (9009, "US", 2),
    (60068, "US", 2),
    (60068, "NL", 1),
    (212238, "US", 1),
    (39351, "SE", 1),
    (209103, "CH", 1),
    (136787, "US", 1),
    (51852, "DE", 1),
]
BUSINESS = [
    (174, "US", 3),
    (3356, "US", 3),
    (6461, "US", 2),
    (1299, "SE", 1),
    (3257, "DE", 1),
    (2914, "JP", 1),
    (6453, "GB", 1),
    (5511, "FR", 1),
    (7473, "SG", 1),
    (4637, "AU", 1),
]
# (asn, country, e-mail domain) of campuses
UNIVERSITIES = [
    (3, "US", "mit.edu"),
    (32, "US", "stanford.edu"),
    (25, "US", "berkeley.edu"),
    (786, "GB", "ox.ac.uk"),
    (786, "GB", "cam.ac.uk"),
    (680, "DE", "tum.de"),
    (239, "CA", "utoronto.ca"),
    (1781, "KR", "kaist.ac.kr"),
    (7575, "AU", "unimelb.edu.au"),
    (2200, "FR", "sorbonne-universite.fr"),
    (55824, "IN", "iitb.ac.in"),
    (2907, "JP", "u-tokyo.ac.jp"),
    (7377, "US", "ucsd.edu"),
    (1312, "US", "vt.edu"),
    (2152, "US", "caltech.edu"),
    (559, "CH", "ethz.ch"),
    (1103, "NL", "tudelft.nl"),
    (7472, "SG", "nus.edu.sg"),
]
NET_KINDS = {
    IPT_RES: RESIDENTIAL,
    IPT_MOB: MOBILE,
    IPT_DC: DATACENTER,
    IPT_VPN: VPN,
    IPT_BUS: BUSINESS,
}

COUNTRIES = [
    "US",
    "GB",
    "DE",
    "FR",
    "IN",
    "JP",
    "AU",
    "CA",
    "BR",
    "KR",
    "SG",
    "ES",
    "IT",
    "NL",
    "PL",
    "MX",
    "TR",
    "VN",
    "BE",
    "SE",
    "IE",
    "FI",
    "CH",
]
# UTC offset in hours (May, with summer time); the US spans four zones
TZ = {
    "US": (-4, -5, -6, -7),
    "GB": (1,),
    "DE": (2,),
    "FR": (2,),
    "IN": (5,),
    "JP": (9,),
    "AU": (10,),
    "CA": (-4, -5, -7),
    "BR": (-3,),
    "KR": (9,),
    "SG": (8,),
    "ES": (2,),
    "IT": (2,),
    "NL": (2,),
    "PL": (2,),
    "MX": (-6,),
    "TR": (3,),
    "VN": (7,),
    "BE": (2,),
    "SE": (2,),
    "IE": (1,),
    "FI": (3,),
    "CH": (2,),
}
# where paying customers bill from (for accounts whose network does not say)
BILLING_W = {
    "US": 30,
    "GB": 6,
    "DE": 6,
    "FR": 4,
    "IN": 8,
    "JP": 4,
    "AU": 2,
    "CA": 3,
    "BR": 3,
    "KR": 3,
    "SG": 2,
    "ES": 2,
    "IT": 2,
    "NL": 2,
    "PL": 1,
    "MX": 1,
    "TR": 1,
    "VN": 1,
    "BE": 1,
    "SE": 1,
    "IE": 1,
    "FI": 1,
    "CH": 1,
}

# --- clients and e-mail ------------------------------------------------------------------------

USER_AGENTS = [
    "anthropic-python/0.49.0",
    "anthropic-python/0.52.1",
    "anthropic-python/0.55.0",
    "anthropic-typescript/0.39.0",
    "anthropic-typescript/0.41.2",
    "claude-code/1.0.44",
    "claude-code/1.0.61",
    "curl/8.5.0",
    "python-httpx/0.27.2",
    "python-requests/2.32.3",
    "litellm/1.55.3",
    "langchain-anthropic/0.3.10",
    "Go-http-client/2.0",
    "anthropic-java/1.2.0",
    "anthropic-go/1.4.0",
    "axios/1.7.9",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like"
    " Gecko) Version/17.4 Safari/605.1.15",
    "okhttp/4.12.0",
    "aiohttp/3.10.5",
]
# weights per population over USER_AGENTS: every population uses common clients
_UA_DEV = [3, 6, 4, 2, 4, 2, 3, 1, 2, 2, 2, 2, 1, 1, 1, 1, 0.5, 0.5, 0.3, 1]
_UA_CONSUMER = [2, 3, 2, 1, 2, 3, 3, 1, 0.5, 1, 0.5, 0.5, 0.2, 0.2, 0.2, 1, 3, 3, 1, 0.2]
_UA_PIPE = [4, 5, 3, 1, 2, 0, 0, 0.5, 2, 2, 1, 2, 2, 2, 1, 0, 0, 0, 0, 2]
_UA_RESELL = [1, 1, 1, 1, 1, 0, 0, 0, 2, 1, 8, 1, 3, 0, 2, 1, 0, 0, 0, 2]
UA_W = np.array(
    [
        _UA_CONSUMER,
        _UA_DEV,
        _UA_PIPE,
        _UA_PIPE,
        _UA_CONSUMER,
        _UA_RESELL,
        _UA_RESELL,
        _UA_DEV,
        _UA_DEV,
        _UA_CONSUMER,
        _UA_DEV,
        _UA_RESELL,
        _UA_CONSUMER,
        _UA_DEV,
    ],
    dtype=np.float64,
)

WEBMAIL = [
    ("gmail.com", 50),
    ("outlook.com", 10),
    ("hotmail.com", 6),
    ("yahoo.com", 6),
    ("icloud.com", 7),
    ("proton.me", 4),
    ("qq.com", 3),
    ("163.com", 2),
    ("gmx.de", 2),
    ("yandex.ru", 2),
    ("naver.com", 2),
    ("mail.ru", 1),
    ("web.de", 1),
    ("aol.com", 1),
    ("live.com", 2),
    ("protonmail.com", 1),
]
_SYL = [
    "ar",
    "bel",
    "cor",
    "da",
    "el",
    "fin",
    "gra",
    "hel",
    "io",
    "ja",
    "ka",
    "lum",
    "mo",
    "nex",
    "or",
    "pra",
    "qua",
    "ro",
    "syn",
    "ta",
    "ul",
    "vec",
    "wa",
    "xi",
    "yo",
    "zen",
    "tri",
    "ven",
    "sol",
    "mer",
    "lab",
    "dyn",
    "opt",
    "neu",
    "qu",
    "ax",
    "ber",
    "cla",
    "dor",
    "fy",
]
_TLD = [
    ("com", 5),
    ("io", 3),
    ("ai", 3),
    ("dev", 1),
    ("co", 1),
    ("tech", 1),
    ("de", 1),
    ("co.uk", 1),
]

# --- attacker strategies -----------------------------------------------------------------------
# (strategy, account share, volume share, start fraction, end fraction of the window)
# A scale keeps the first k campaigns; shares are renormalised over those kept.
CAMPAIGN_SPECS = [
    ("hydra", 0.28, 0.30, 0.00, 1.10),
    ("quiet_paraphrase", 0.18, 0.035, 0.10, 1.10),
    ("release_chaser", 0.06, 0.14, 0.05, 0.95),
    ("reseller_blend", 0.08, 0.03, 0.15, 1.10),
    ("aged_accounts", 0.10, 0.10, 0.30, 1.10),
    ("thin_spread", 0.10, 0.06, 0.45, 1.10),
    ("hydra", 0.20, 0.20, 0.30, 0.80),
    ("release_chaser", 0.05, 0.08, 0.55, 1.10),
    ("hydra", 0.10, 0.07, 0.60, 1.10),
]
CAMPAIGNS_PER_SCALE = {"tiny": 5, "small": 6, "medium": 7, "seed": 9}
