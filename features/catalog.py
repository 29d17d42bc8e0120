"""The feature catalog: every column of the account feature table, in one list.

Analysts and ML engineers read the same list (rendered into docs/FEATURES.md by
`render_markdown`); the model takes its inputs from `model_feature_names()`; the reasons shown on
scores come from `describe(name, value)` ("shares near-duplicate prompts with 212 other accounts
in 7 days"). The table's schema in the registry is generated from here, so a column cannot exist
without an entry, nor an entry without a column (a test checks the transform's output too).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.enums import EMAIL_DOMAIN_CLASSES, SIGNUP_CHANNELS
from features.params import DEFAULT_PARAMS, LINK_TYPES

FAMILIES = (
    "key",
    "volume",
    "timing",
    "content",
    "infrastructure",
    "errors",
    "account",
    "cross_account",
    "community",
    "propagation",
    "cluster",
    "label_free",
)

# How a value reads in a sentence.
KINDS = ("id", "text", "count", "share", "ratio", "bits", "days", "hours", "flag", "rank")


@dataclass(frozen=True)
class Feature:
    name: str
    family: str
    window: str  # "1d", "7d", "28d", "as of D", or "" for keys
    dtype: str  # Spark SQL type
    meaning: str  # plain words, for analysts
    model: bool  # a numeric input of the model
    kind: str = "count"
    reason: str = ""  # sentence template for `describe`; {v} is the formatted value


_P = DEFAULT_PARAMS
_WINDOW_WORDS = {
    "1d": "on day D",
    "7d": "in the 7 days ending on D (D-6..D)",
    "28d": "in the 28 days ending on D (D-27..D)",
}
_WINDOW_SHORT = {"1d": "today", "7d": "in 7 days", "28d": "in 28 days"}

_ENTRIES: list[Feature] = []


def _f(
    name: str,
    family: str,
    window: str,
    dtype: str,
    meaning: str,
    model: bool = True,
    kind: str = "count",
    reason: str = "",
) -> None:
    _ENTRIES.append(Feature(name, family, window, dtype, meaning, model, kind, reason))


def _w(
    base: str,
    windows: tuple[str, ...],
    family: str,
    dtype: str,
    meaning: str,
    kind: str,
    reason: str,
    model: bool = True,
) -> None:
    """One feature per window; `{window}` / `{short}` in the texts name the window."""
    for w in windows:
        _f(
            f"{base}_{w}",
            family,
            w,
            dtype,
            meaning.format(window=_WINDOW_WORDS[w]),
            model,
            kind,
            reason.format(short=_WINDOW_SHORT[w], v="{v}"),
        )


ALL3 = ("1d", "7d", "28d")
W7_28 = ("7d", "28d")

# --- keys and descriptive columns (not model inputs) ---------------------------------------
_f("account_id", "key", "", "STRING", "The account.", False, "id")
_f(
    "feature_date",
    "key",
    "",
    "DATE",
    "The day D the row describes, using only what was known by the end of D.",
    False,
    "id",
)

# --- volume --------------------------------------------------------------------------------
_w(
    "requests",
    ALL3,
    "volume",
    "BIGINT",
    "Accepted API requests (any HTTP status) {window}.",
    "count",
    "sent {v} requests {short}",
)
_w(
    "input_tokens",
    ALL3,
    "volume",
    "BIGINT",
    "Input tokens of those requests {window}.",
    "count",
    "sent {v} input tokens {short}",
)
_w(
    "output_tokens",
    ALL3,
    "volume",
    "BIGINT",
    "Output tokens returned {window}.",
    "count",
    "received {v} output tokens {short}",
)
_w(
    "output_input_ratio",
    ALL3,
    "volume",
    "DOUBLE",
    "Output tokens per input token {window} (input floored at 1): harvesting asks short, "
    "reads long.",
    "ratio",
    "got {v} output tokens per input token {short}",
)
_w(
    "active_days",
    W7_28,
    "volume",
    "INT",
    "Days with at least one request {window}.",
    "days",
    "was active on {v} days {short}",
)
_f(
    "requests_per_active_day_28d",
    "volume",
    "28d",
    "DOUBLE",
    "Requests per active day over the 28-day window.",
    kind="ratio",
    reason="sent {v} requests per active day over 28 days",
)
_f(
    "requests_7d_vs_28d",
    "volume",
    "28d",
    "DOUBLE",
    "Requests of the last 7 days against a quarter of the 28-day requests: above 1 means "
    "ramping up (1.0 = steady; 4.0 = everything happened this week).",
    kind="ratio",
    reason="ramped up: this week's volume is {v}x its 4-week weekly average",
)
_f(
    "batch_share_7d",
    "volume",
    "7d",
    "DOUBLE",
    "Share of requests sent to the batches endpoint in the 7 days ending on D.",
    kind="share",
    reason="sent {v} of requests as batches in 7 days",
)
_f(
    "mean_turns_7d",
    "volume",
    "7d",
    "DOUBLE",
    "Mean messages per request in 7 days (null when the gateway did not report turns): "
    "harvesting is mostly single-turn.",
    kind="ratio",
    reason="averaged {v} messages per request in 7 days",
)

# --- timing --------------------------------------------------------------------------------
_w(
    "hour_entropy",
    W7_28,
    "timing",
    "DOUBLE",
    "Entropy (bits, 0..4.58) of the hour-of-day histogram of requests {window}: near 4.58 "
    "means round-the-clock traffic, as scripts run it.",
    "bits",
    "spread requests evenly over the clock ({v} of 4.58 bits) {short}",
)
_w(
    "night_share",
    W7_28,
    "timing",
    "DOUBLE",
    f"Share of requests {{window}} sent at night ({_P.night_start_hour:02d}:00-"
    f"{_P.night_end_hour - 1:02d}:59) in the account's own country: billing country, else the "
    "country most requests came from in 28 days, else UTC; fixed UTC offset per country, no "
    "daylight saving (features/local_time.py).",
    "share",
    "sent {v} of requests at night local time {short}",
)
_w(
    "active_hours",
    ALL3,
    "timing",
    "INT",
    "Distinct clock hours (date and hour, UTC) with at least one request {window}.",
    "hours",
    "was active during {v} distinct hours {short}",
)
_w(
    "interarrival_cv",
    ALL3,
    "timing",
    "DOUBLE",
    "Coefficient of variation (std/mean) of the gaps between consecutive requests of a day, "
    "pooled {window}: near 0 = metronome-regular (a script), above 1 = bursty (a person); null "
    "with fewer than 2 gaps.",
    "ratio",
    "sent requests at regular intervals (gap CV {v}) {short}",
)
_f(
    "weekend_share_28d",
    "timing",
    "28d",
    "DOUBLE",
    "Share of 28-day requests sent on Saturday or Sunday (UTC dates): scripts do not rest.",
    kind="share",
    reason="sent {v} of requests on weekends over 28 days",
)
_f(
    "local_utc_offset",
    "timing",
    "as of D",
    "INT",
    "UTC offset in hours used for local time (see night_share).",
    False,
    "hours",
)

# --- content -------------------------------------------------------------------------------
_w(
    "topic_entropy",
    W7_28,
    "content",
    "DOUBLE",
    "Entropy (bits) of the gateway topic mix {window}: low = one narrow capability.",
    "bits",
    "focused on few topics ({v} bits of topic entropy) {short}",
)
_w(
    "topic_top_share",
    W7_28,
    "content",
    "DOUBLE",
    "Share of requests {window} in the account's most frequent topic (unclassified requests "
    "count as their own topic).",
    "share",
    "sent {v} of requests on a single topic {short}",
)
_f(
    "reasoning_topic_share_7d",
    "content",
    "7d",
    "DOUBLE",
    "Share of 7-day requests on coding, math_reasoning or agentic_tools.",
    kind="share",
    reason="sent {v} of requests on coding, math or agentic topics in 7 days",
)
_w(
    "high_cot_share",
    ALL3,
    "content",
    "DOUBLE",
    f"Share of requests {{window}} whose cot_request_score >= {_P.high_cot_threshold} (the "
    "gateway thinks the prompt asks the model to write out its reasoning; unscored requests "
    "count as not).",
    "share",
    "asked for step-by-step reasoning in {v} of requests {short}",
)
_f(
    "cot_score_mean_7d",
    "content",
    "7d",
    "DOUBLE",
    "Mean cot_request_score over the 7-day requests that have one (null when none).",
    kind="ratio",
    reason="had a mean chain-of-thought request score of {v} in 7 days",
)
_w(
    "thinking_share",
    W7_28,
    "content",
    "DOUBLE",
    "Share of requests {window} with extended thinking enabled.",
    "share",
    "enabled extended thinking in {v} of requests {short}",
)
_w(
    "tool_share",
    W7_28,
    "content",
    "DOUBLE",
    "Share of requests {window} that define at least one tool.",
    "share",
    "defined tools in {v} of requests {short}",
)
_f(
    "image_share_7d",
    "content",
    "7d",
    "DOUBLE",
    "Share of 7-day requests carrying an image.",
    kind="share",
    reason="sent images in {v} of requests in 7 days",
)
_f(
    "distinct_models_7d",
    "content",
    "7d",
    "INT",
    "Distinct models requested in 7 days.",
    reason="used {v} distinct models in 7 days",
)
_f(
    "model_top_share_7d",
    "content",
    "7d",
    "DOUBLE",
    "Share of 7-day requests on the account's most used model.",
    kind="share",
    reason="sent {v} of requests to one model in 7 days",
)
_w(
    "new_model_share",
    ("1d", "7d"),
    "content",
    "DOUBLE",
    f"Share of requests {{window}} on a model first seen in the lake within the last "
    f"{_P.new_model_days} days (release chasing; models present on the lake's first day never "
    "count as new).",
    "share",
    "sent {v} of requests to a newly released model {short}",
)
_f(
    "prompt_unique_ratio_7d",
    "content",
    "7d",
    "DOUBLE",
    "Distinct prompt SimHashes per request in 7 days (distinct within each day, summed): low "
    "means the same prompts again and again.",
    kind="ratio",
    reason="repeated prompts ({v} distinct prompts per request) in 7 days",
)

# --- infrastructure ------------------------------------------------------------------------
_cap = f" (at most {_P.set_cap} are kept per account and day)"
_w(
    "distinct_ips",
    W7_28,
    "infrastructure",
    "INT",
    "Distinct client IP addresses (keyed hashes) {window}" + _cap + ".",
    "count",
    "came from {v} distinct IP addresses {short}",
)
_w(
    "distinct_ip_prefixes",
    W7_28,
    "infrastructure",
    "INT",
    "Distinct /24 (IPv4) or /48 (IPv6) client prefixes {window}" + _cap + ".",
    "count",
    "came from {v} distinct /24 networks {short}",
)
_w(
    "distinct_asns",
    W7_28,
    "infrastructure",
    "INT",
    "Distinct autonomous systems of the client IPs {window}" + _cap + ".",
    "count",
    "came from {v} distinct ASNs {short}",
)
_f(
    "distinct_countries_7d",
    "infrastructure",
    "7d",
    "INT",
    "Distinct client IP countries in 7 days.",
    reason="came from {v} countries in 7 days",
)
_f(
    "distinct_api_keys_7d",
    "infrastructure",
    "7d",
    "INT",
    "Distinct API keys used in 7 days.",
    reason="used {v} API keys in 7 days",
)
_f(
    "distinct_user_agents_7d",
    "infrastructure",
    "7d",
    "INT",
    "Distinct client user agents in 7 days.",
    reason="used {v} client user agents in 7 days",
)
_f(
    "datacenter_share_7d",
    "infrastructure",
    "7d",
    "DOUBLE",
    "Share of 7-day requests from datacenter IPs (GeoIP ip_type).",
    kind="share",
    reason="sent {v} of requests from datacenter IPs in 7 days",
)
_f(
    "vpn_proxy_share_7d",
    "infrastructure",
    "7d",
    "DOUBLE",
    "Share of 7-day requests from VPN or proxy IPs.",
    kind="share",
    reason="sent {v} of requests through VPNs or proxies in 7 days",
)
_f(
    "residential_share_7d",
    "infrastructure",
    "7d",
    "DOUBLE",
    "Share of 7-day requests from residential or mobile IPs.",
    kind="share",
    reason="sent {v} of requests from residential or mobile IPs in 7 days",
)
_f(
    "country_mismatch_share_7d",
    "infrastructure",
    "7d",
    "DOUBLE",
    "Share of 7-day requests (with a known IP country) from a country other than the billing "
    "country; null when the billing country is unknown.",
    kind="share",
    reason="sent {v} of requests from outside its billing country in 7 days",
)

# --- errors --------------------------------------------------------------------------------
_w(
    "rate_limited_share",
    ALL3,
    "errors",
    "DOUBLE",
    "Share of requests {window} answered 429 (rate limited): pushing against the limits.",
    "share",
    "was rate limited on {v} of requests {short}",
)
_f(
    "server_error_share_7d",
    "errors",
    "7d",
    "DOUBLE",
    "Share of 7-day requests answered 500 or 529.",
    kind="share",
    reason="got server errors on {v} of requests in 7 days",
)
_f(
    "client_error_share_7d",
    "errors",
    "7d",
    "DOUBLE",
    "Share of 7-day requests answered 400.",
    kind="share",
    reason="got client errors on {v} of requests in 7 days",
)

# --- the account itself, as of D -------------------------------------------------------------
_f(
    "has_account_record",
    "account",
    "as of D",
    "INT",
    "1 when the registry record of the account had landed by D (an account can send requests "
    "before its record lands); 0 leaves every registry feature null.",
    kind="flag",
    reason="{v}",
)
_f(
    "account_age_days",
    "account",
    "as of D",
    "INT",
    "Whole days from the account's creation to the end of D (0 = created on D).",
    kind="days",
    reason="is {v} days old",
)
_f(
    "is_young_account",
    "account",
    "as of D",
    "INT",
    f"1 when the account is younger than {_P.young_account_days} days (null without record).",
    kind="flag",
    reason="{v}",
)
_f(
    "verified",
    "account",
    "as of D",
    "INT",
    "1 when identity or business verification passed.",
    kind="flag",
    reason="{v}",
)
_f(
    "has_payment_fingerprint",
    "account",
    "as of D",
    "INT",
    "1 when a payment instrument is on file.",
    kind="flag",
    reason="{v}",
)
_f(
    "tier_rank",
    "account",
    "as of D",
    "INT",
    "Tier as a number: 0 free, 1 build, 2 scale, 3 enterprise.",
    kind="rank",
    reason="is on tier rank {v} (0 free .. 3 enterprise)",
)
for _ch in SIGNUP_CHANNELS:
    _f(
        f"signup_{_ch}",
        "account",
        "as of D",
        "INT",
        f"1 when the signup channel is `{_ch}`.",
        kind="flag",
        reason="{v}",
    )
for _cls in EMAIL_DOMAIN_CLASSES:
    _f(
        f"email_{_cls}",
        "account",
        "as of D",
        "INT",
        f"1 when the e-mail domain class is `{_cls}`.",
        kind="flag",
        reason="{v}",
    )
_f(
    "signup_channel",
    "account",
    "as of D",
    "STRING",
    "Signup channel (text, for people).",
    False,
    "text",
)
_f("tier", "account", "as of D", "STRING", "Tier (text, for people).", False, "text")
_f(
    "email_domain_class",
    "account",
    "as of D",
    "STRING",
    "E-mail domain class: edu, freemail or other (text, for people).",
    False,
    "text",
)
_f(
    "billing_country",
    "account",
    "as of D",
    "STRING",
    "Billing country (text, for people).",
    False,
    "text",
)

# --- cross-account signals -----------------------------------------------------------------
_f(
    "payment_fp_accounts",
    "cross_account",
    "as of D",
    "INT",
    "Other accounts in the registry (as of D) with the same payment fingerprint (0 without one).",
    reason="shares its payment instrument with {v} other accounts",
)
_f(
    "org_accounts",
    "cross_account",
    "as of D",
    "INT",
    "Other accounts in the registry (as of D) in the same org (0 without an org).",
    reason="belongs to an org with {v} other accounts",
)
_f(
    "ip_prefix_max_accounts_7d",
    "cross_account",
    "7d",
    "INT",
    "Most other scored accounts seen on one of this account's /24 prefixes in 7 days.",
    reason="shares a /24 network with {v} other accounts in 7 days",
)
_f(
    "ip_prefix_shared_share_7d",
    "cross_account",
    "7d",
    "DOUBLE",
    "Share of the account's 7-day /24 prefixes also used by another scored account.",
    kind="share",
    reason="shares {v} of its /24 networks with other accounts in 7 days",
)
_f(
    "asn_max_accounts_7d",
    "cross_account",
    "7d",
    "INT",
    "Most other scored accounts seen on one of this account's ASNs in 7 days.",
    reason="shares an ASN with {v} other accounts in 7 days",
)
_f(
    "simhash_neardup_accounts_7d",
    "cross_account",
    "7d",
    "INT",
    f"Most other accounts that sent a near-duplicate (SimHash Hamming distance <= "
    f"{_P.simhash_k}, or the same template family) of one of this account's sampled prompts in "
    f"7 days (a consistent sample of up to {_P.simhash_sample_per_window} prompts per account).",
    reason="shares near-duplicate prompts with {v} other accounts in 7 days",
)
_f(
    "simhash_shared_prompts_7d",
    "cross_account",
    "7d",
    "INT",
    "How many of the account's sampled 7-day prompts other accounts also sent (near-duplicates "
    "included).",
    reason="sent {v} prompts that other accounts also sent in 7 days",
)
_f(
    "simhash_shared_share_7d",
    "cross_account",
    "7d",
    "DOUBLE",
    "Share of the account's sampled 7-day prompts that other accounts also sent.",
    kind="share",
    reason="sent {v} of its prompts as near-duplicates of other accounts' in 7 days",
)
_f(
    "sync_ip_share_7d",
    "cross_account",
    "7d",
    "DOUBLE",
    f"Share of the account's (/24 prefix, {_P.sync_bucket_minutes}-minute) activity slots in 7 "
    f"days where at least {_P.sync_min_accounts} accounts were active together (on-time "
    "records only).",
    kind="share",
    reason="was active in lockstep with other accounts on one network in {v} of its time slots "
    "in 7 days",
)
_f(
    "sync_ip_max_peers_7d",
    "cross_account",
    "7d",
    "INT",
    "Most other accounts active with this one in one (/24, 10-minute) slot in 7 days.",
    reason="was active in the same 10 minutes on one network as {v} other accounts",
)
_f(
    "sync_prompt_share_7d",
    "cross_account",
    "7d",
    "DOUBLE",
    f"Share of the account's (prompt SimHash 16-bit band, {_P.sync_bucket_minutes}-minute) slots "
    f"in 7 days shared by at least {_P.sync_min_accounts} accounts.",
    kind="share",
    reason="sent similar prompts in the same minutes as other accounts in {v} of its slots "
    "in 7 days",
)
_f(
    "sync_prompt_max_peers_7d",
    "cross_account",
    "7d",
    "INT",
    "Most other accounts sending the same prompt band as this one in one 10-minute slot in 7 days.",
    reason="sent similar prompts in the same 10 minutes as {v} other accounts",
)

_f(
    "scaffold_max_accounts_7d",
    "cross_account",
    "7d",
    "INT",
    f"Most other accounts sharing a prompt scaffold with this account in 7 days: a bucket of "
    f"{_P.scaffold_tables} bit-sampling LSH tables (ceil(log2 of the day's distinct prompts) + "
    f"{_P.scaffold_bits_headroom} of the 64 SimHash bits each) that paraphrases of one template "
    "keep while unrelated prompts almost never meet (features/template_scaffolds.py).",
    reason="shares a prompt scaffold (paraphrased template) with {v} other accounts in 7 days",
)
_f(
    "scaffold_shared_share_7d",
    "cross_account",
    "7d",
    "DOUBLE",
    f"Share of the account's sampled 7-day prompts whose scaffold at least "
    f"{_P.scaffold_min_accounts} accounts share.",
    kind="share",
    reason="sent {v} of its prompts as paraphrases of templates other accounts use in 7 days",
)
_f(
    "scaffold_idf_7d",
    "cross_account",
    "7d",
    "DOUBLE",
    f"Mean over the account's sampled 7-day prompts of ln(N / df) for a scaffold shared by df "
    f">= {_P.scaffold_min_accounts} of the N accounts with prompts (0 for the others): template "
    "co-use weighted like IDF, so a scaffold everybody sends counts little and one a group "
    "sends and nobody else counts much.",
    kind="ratio",
    reason="sends rare templates shared with a group of accounts (IDF weight {v}) in 7 days",
)
_f(
    "consumer_prefixes_7d",
    "infrastructure",
    "7d",
    "INT",
    "Distinct /24 (or /48) prefixes the account was seen on only over residential or mobile "
    "networks in 7 days (at most "
    f"{_P.set_cap} kept per day): a person has a handful, a rotating residential proxy one a "
    "request.",
    reason="came from {v} distinct home or mobile networks in 7 days",
)
_f(
    "prefixes_per_request_7d",
    "infrastructure",
    "7d",
    "DOUBLE",
    "Distinct /24 prefixes per request in 7 days: near 1 means a new network for almost every "
    "request.",
    kind="ratio",
    reason="changed network every {v} requests on average in 7 days",
)
_f(
    "consumer_prefix_share_7d",
    "infrastructure",
    "7d",
    "DOUBLE",
    "Share of the account's 7-day prefixes seen only over residential or mobile networks.",
    kind="share",
    reason="came from home or mobile networks on {v} of its prefixes in 7 days",
)
_f(
    "asns_per_prefix_7d",
    "infrastructure",
    "7d",
    "DOUBLE",
    "Distinct ASNs per distinct prefix in 7 days: near 1 means every network belongs to a "
    "different provider.",
    kind="ratio",
    reason="spread its networks over {v} providers per prefix in 7 days",
)

# --- the template community, judged as a group (features/community.py) ----------------------
_f(
    "community_accounts",
    "community",
    "as of D",
    "INT",
    f"Accounts whose main prompt scaffold is this account's (its template community; 0 when "
    f"it has no scaffold shared by {_P.scaffold_min_accounts} accounts).",
    reason="belongs to a template community of {v} accounts",
)
_f(
    "community_high_cot_share_7d",
    "community",
    "7d",
    "DOUBLE",
    f"Pooled share of the community's 7-day requests with cot_request_score >= "
    f"{_P.high_cot_threshold} (null outside a community).",
    kind="share",
    reason="is in a template community asking for step-by-step reasoning in {v} of requests",
)
_f(
    "community_reasoning_share_7d",
    "community",
    "7d",
    "DOUBLE",
    "Pooled share of the community's 7-day requests on coding, math_reasoning or "
    "agentic_tools (null outside a community).",
    kind="share",
    reason="is in a template community sending {v} of requests on coding, math or agents",
)
_f(
    "community_young_share",
    "community",
    "as of D",
    "DOUBLE",
    f"Share of the community's accounts younger than {_P.young_account_days} days (no registry "
    "record counts as young; null outside a community).",
    kind="share",
    reason="is in a template community where {v} of accounts are less than two weeks old",
)
_f(
    "community_cot_lift_vs_org_7d",
    "community",
    "7d",
    "DOUBLE",
    "The community's pooled high-CoT share minus that of the rest of the account's org (its "
    "scored accounts outside the community); null without an org, outside a community, or "
    "when the whole org is in it.",
    kind="share",
    reason="is in a template community asking for reasoning {v} more often than the rest of its "
    "organisation",
)
_f(
    "community_sync_share_7d",
    "community",
    "7d",
    "DOUBLE",
    f"Share of the account's active (event day, UTC hour) slots in 7 days in which at least "
    f"{_P.community_sync_min_others} other accounts of its template community were active too "
    "(null outside a community).",
    kind="share",
    reason="worked the same hours as its template community in {v} of its active hours",
)

# --- risk propagated from labelled accounts (features/propagation.py) ------------------------
_f(
    "known_bad_linked_accounts",
    "propagation",
    "as of D",
    "INT",
    "Accounts labelled distillation as of D (not reinstated) sharing a payment fingerprint, an "
    "org or a hosted /24 prefix (7 days) with this account, summed over its identifiers below "
    "their hub caps; its own label never counts.",
    reason="shares payment, org or network with {v} accounts already banned for distillation",
)
_f(
    "propagated_risk",
    "propagation",
    "as of D",
    "DOUBLE",
    "Noisy-OR over the account's identifiers of rarity x (labelled others / (others + "
    f"{_P.propagation_smoothing:g})), rarity = 1 - ln(holders) / ln(hub cap of the kind): a "
    "card shared by a few accounts passes much risk, an org of thousands little.",
    kind="share",
    reason="inherits {v} risk from banned accounts sharing its rare identifiers",
)

# --- linked-account cluster, as of D ---------------------------------------------------------
_f(
    "cluster_id",
    "cluster",
    "as of D",
    "STRING",
    "Linked-account cluster (a connected component of at least 2 scored accounts tied by "
    "shared payment, /24 prefix in 7 days (seen on hosted networks, not residential or "
    "mobile), near-duplicate prompts or org; hub entities above a cap ignored); null when in "
    "none. Stable across days while most members persist.",
    False,
    "id",
)
_f(
    "link_types",
    "cluster",
    "as of D",
    "ARRAY<STRING>",
    "Link kinds present in the cluster: payment, ip_prefix, prompt_simhash, org.",
    False,
    "text",
)
_f(
    "in_cluster",
    "cluster",
    "as of D",
    "INT",
    "1 when the account is in a cluster.",
    kind="flag",
    reason="{v}",
)
_f(
    "cluster_size",
    "cluster",
    "as of D",
    "INT",
    "Scored accounts in the account's cluster (1 when in none).",
    reason="is linked to a cluster of {v} accounts",
)
_f(
    "cluster_growth_7d",
    "cluster",
    "as of D",
    "INT",
    "Cluster size minus the same cluster's size 7 days earlier (the whole size when it did not "
    "exist then; 0 when in no cluster).",
    reason="is in a cluster that grew by {v} accounts in 7 days",
)
_f(
    "cluster_age_days",
    "cluster",
    "as of D",
    "INT",
    "Days since the cluster id first appeared (0 = new today; null when in no cluster).",
    kind="days",
    reason="is in a cluster first seen {v} days ago",
)
_f(
    "cluster_young_share",
    "cluster",
    "as of D",
    "DOUBLE",
    f"Share of cluster members younger than {_P.young_account_days} days (members without a "
    "registry record count as young; null when in no cluster).",
    kind="share",
    reason="is in a cluster where {v} of accounts are less than two weeks old",
)
_f(
    "cluster_sync_share_7d",
    "cluster",
    "as of D",
    "DOUBLE",
    "Pooled sync_ip_share_7d of the cluster's members (null when in no cluster).",
    kind="share",
    reason="is in a cluster active in lockstep in {v} of its time slots",
)
_f(
    "cluster_known_bad_others",
    "cluster",
    "as of D",
    "INT",
    "Other members of the cluster already labelled distillation (ban or suspend decided and "
    "landed by D, not reinstated); the account's own label is never counted.",
    reason="is linked to {v} accounts already banned for distillation",
)
_f(
    "cluster_known_bad_share",
    "cluster",
    "as of D",
    "DOUBLE",
    "cluster_known_bad_others over the other members (null when in no cluster).",
    kind="share",
    reason="is in a cluster where {v} of the other accounts are already banned for distillation",
)
_f(
    "cluster_requests_7d",
    "cluster",
    "as of D",
    "BIGINT",
    "Requests of all cluster members in 7 days (the account's own when in no cluster).",
    reason="is in a cluster that sent {v} requests in 7 days",
)
for _lt in LINK_TYPES:
    _f(
        f"cluster_link_{_lt}",
        "cluster",
        "as of D",
        "INT",
        f"1 when `{_lt}` links are present in the account's cluster.",
        kind="flag",
        reason="{v}",
    )

# --- the label-free score (features/harvest_score.py), computed from the columns above -------
_f(
    "harvest_score",
    "label_free",
    "as of D",
    "DOUBLE",
    "Label-free probability that the account belongs to a harvesting campaign: a fixed logistic "
    "of template-community, reasoning, youth and network evidence minus look-alike evidence "
    "(old, verified, batch); what the gold tables publish before the first model exists "
    "(models/label_free.py).",
    kind="share",
    reason="looks like a harvesting campaign without any label ({v})",
)

CATALOG: dict[str, Feature] = {f.name: f for f in _ENTRIES}
if len(CATALOG) != len(_ENTRIES):  # a duplicate name would silently drop an entry
    raise RuntimeError("duplicate feature name in the catalog")

# Flags read better as their own sentence than as "1".
_FLAG_SENTENCES = {
    "has_account_record": ("has no registry record yet", "has a registry record"),
    "is_young_account": (
        "is not a young account",
        f"is less than {_P.young_account_days} days old",
    ),
    "verified": ("is not verified", "is verified"),
    "has_payment_fingerprint": (
        "has no payment instrument on file",
        "has a payment instrument on file",
    ),
    "in_cluster": ("is in no linked-account cluster", "is in a linked-account cluster"),
    **{
        f"signup_{c}": (
            f"did not sign up through {c.replace('_', ' ')}",
            f"signed up through {c.replace('_', ' ')}",
        )
        for c in SIGNUP_CHANNELS
    },
    **{
        f"email_{c}": (f"has no {c} e-mail domain", f"has a {c} e-mail domain")
        for c in EMAIL_DOMAIN_CLASSES
    },
    **{
        f"cluster_link_{t}": (
            f"has no {t.replace('_', ' ')} links in its cluster",
            f"is linked to its cluster by {t.replace('_', ' ')}",
        )
        for t in LINK_TYPES
    },
}


# Domain priors the model must respect (XGBoost monotone constraints): +1 = more of it never
# lowers the risk, all else equal; -1 = more of it never raises it. Only behaviour that means
# harvesting wherever it comes from (GUIDE section 1: reasoning-heavy, long answers to short
# prompts, templates paraphrased across accounts, moving in step, fresh accounts, known-bad
# neighbours). Without them a model that saw one strategy's labels learns that the unlabelled
# campaigns' reasoning share or template sharing is a sign of legitimacy. Volume, infrastructure
# and the account profile stay free: legitimate look-alikes differ from attackers there in
# both directions.
RISK_DIRECTION: dict[str, int] = {
    **{f"high_cot_share_{w}": 1 for w in ALL3},
    "cot_score_mean_7d": 1,
    **{f"output_input_ratio_{w}": 1 for w in W7_28},
    "thinking_share_7d": 1,
    "reasoning_topic_share_7d": 1,
    "new_model_share_1d": 1,
    "new_model_share_7d": 1,
    "simhash_neardup_accounts_7d": 1,
    "simhash_shared_prompts_7d": 1,
    "simhash_shared_share_7d": 1,
    "sync_prompt_share_7d": 1,
    "sync_prompt_max_peers_7d": 1,
    "cluster_known_bad_others": 1,
    "cluster_known_bad_share": 1,
    "cluster_young_share": 1,
    "scaffold_max_accounts_7d": 1,
    "scaffold_shared_share_7d": 1,
    "scaffold_idf_7d": 1,
    "community_high_cot_share_7d": 1,
    "community_reasoning_share_7d": 1,
    "community_cot_lift_vs_org_7d": 1,
    "known_bad_linked_accounts": 1,
    "propagated_risk": 1,
    "harvest_score": 1,
    "prompt_unique_ratio_7d": -1,
    "account_age_days": -1,
    "verified": -1,
}


def risk_direction(names: list[str]) -> list[int]:
    """The monotone constraint of each model input, in order (0 = free)."""
    return [RISK_DIRECTION.get(n, 0) for n in names]


def feature_columns() -> list[Feature]:
    """Every column of the feature table, in table order."""
    return list(_ENTRIES)


def feature_table_ddl() -> str:
    """The feature table's schema as Spark DDL (the registry uses it)."""
    return ", ".join(f"{f.name} {f.dtype}" for f in _ENTRIES)


def model_feature_names() -> list[str]:
    """The numeric columns the model takes, in a fixed order (categoricals come one-hot)."""
    return [f.name for f in _ENTRIES if f.model]


def _format(kind: str, value: float) -> str:
    if kind == "share":
        return f"{value:.0%}"
    if kind in ("ratio", "bits"):
        return f"{value:,.2f}"
    return f"{value:,.0f}"


def describe(name: str, value: float | str | None) -> str:
    """One analyst-facing phrase for a feature's value, e.g. for the reasons of a score."""
    feature = CATALOG.get(name)
    if feature is None:
        raise KeyError(f"{name!r} is not in the feature catalog")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{name.replace('_', ' ')} unknown"
    if feature.kind == "flag":
        off, on = _FLAG_SENTENCES.get(name, (f"not {name}", name))
        return on if float(value) >= 0.5 else off
    if feature.kind in ("id", "text") or not feature.reason:
        return f"{name.replace('_', ' ')} {value}"
    return feature.reason.format(v=_format(feature.kind, float(value)))


def render_markdown() -> str:
    """docs/FEATURES.md, generated: `python -m features.catalog > docs/FEATURES.md`."""
    lines = [
        "# Account features (generated from features/catalog.py; do not edit)",
        "",
        "Table `account_features_daily` (`<lake>/features/account_features_daily`, Delta, "
        "partitioned by `feature_date`, key `(account_id, feature_date)`): one row per account "
        "with at least one accepted interaction in the 7 days ending on `feature_date` D, "
        "computed only from what was known by the end of D (event time before the end of D "
        "and landed on or before D). Windows end on D and include it: `7d` is D-6..D.",
        "",
        "Regenerate with `.venv/bin/python -m features.catalog > docs/FEATURES.md` "
        "(a test fails when this file is stale).",
        "",
        f"Model inputs: {len(model_feature_names())} numeric columns "
        "(`features.catalog.model_feature_names()`). In the model column, `yes, up` marks an "
        "input whose increase can never lower the risk score and `yes, down` one whose "
        "increase can never raise it (monotone constraints, `RISK_DIRECTION`).",
        "",
    ]
    for family in FAMILIES:
        rows = [f for f in _ENTRIES if f.family == family]
        if not rows:
            continue
        lines += [
            f"## {family}",
            "",
            "| name | window | type | model | meaning |",
            "|---|---|---|---|---|",
        ]
        for f in rows:
            meaning = f.meaning.replace("|", "\\|")
            model = "no"
            if f.model:
                model = {1: "yes, up", -1: "yes, down"}.get(RISK_DIRECTION.get(f.name, 0), "yes")
            lines.append(f"| `{f.name}` | {f.window or '-'} | {f.dtype} | {model} | {meaning} |")
        lines.append("")
    lines += _other_tables()
    return "\n".join(lines)


def _other_tables() -> list[str]:
    from features.schemas import AGG_DDL, CLUSTERS_DDL, MODEL_ACTIVITY_DDL

    def cols(ddl: str) -> str:
        return ", ".join(
            f"`{c.strip().split(' ')[0]}`"
            for c in ddl.split(", ")
            if c.strip() and " " in c.strip() and not c.strip().startswith("BIGINT>")
        )

    p = DEFAULT_PARAMS
    return [
        "## Other tables written by the feature job",
        "",
        "- `account_activity_daily` (`features/account_activity_daily`, partitioned by "
        "`land_date`, key `(account_id, event_date, land_date)`): the mergeable daily "
        "aggregates the windows are summed from. Each day's job aggregates only what landed "
        "that day (every event day it carries), so windows of day D merge the rows with "
        "`land_date <= D` and a record landing after D never changes day D. `hour_counts` is "
        "the 24-hour UTC histogram; the `ip_*`, `api_keys` and `user_agents` arrays keep the "
        f"{p.set_cap} smallest distinct values; `simhash_sample` keeps the "
        f"{p.simhash_sample_per_day} prompt SimHashes with the smallest xxhash64; `gap_*` are "
        "the pooled moments of the gaps between consecutive requests; `sync_*` count the "
        f"(/24 or prompt band, {p.sync_bucket_minutes}-minute) slots of on-time records and "
        f"those shared by >= {p.sync_min_accounts} accounts; `link_prefixes` are the prefixes "
        "seen on hosted networks (ip_type not residential or mobile), the only ones that link "
        "accounts (NULL in rows written before it existed: read as `ip_prefixes`). "
        "Columns: " + cols(AGG_DDL) + ".",
        "- `model_activity_daily` (`features/model_activity_daily`, partitioned by "
        "`land_date`): requests and accounts per model, event day and landed day; when each "
        "model was first seen. Columns: " + cols(MODEL_ACTIVITY_DDL) + ".",
        "- `account_clusters_map` (`features/account_clusters`, partitioned by "
        "`feature_date`, key `(account_id, feature_date)`): the linked-account cluster of each "
        "clustered scored account; accounts in no cluster have no row. `cluster_first_date` "
        "is the day the id first appeared. Columns: " + cols(CLUSTERS_DDL) + ".",
        "",
        "Hub caps (an entity tying more scored accounts is dropped from the link graph): "
        + ", ".join(f"`{k}` {v}" for k, v in sorted(p.hub_caps.items()))
        + ". "
        f"Near-duplicate prompts: SimHash Hamming distance <= {p.simhash_k}, found by keying "
        f"on every choice of {p.simhash_blocks - p.simhash_k} of {p.simhash_blocks} bit blocks; "
        f"a bucket of more than {p.lsh_bucket_cap} distinct hashes is one template family. "
        f"An identical prompt with no near-duplicate variant links at most "
        f"{p.prompt_exact_cap} accounts (more is a common prompt, not an operator).",
        "",
    ]


if __name__ == "__main__":
    print(render_markdown(), end="")
