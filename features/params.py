"""The tunable knobs of the feature build, in one place (each with the reason for its default)."""

from __future__ import annotations

from dataclasses import dataclass, field

# Windows of the behaviour features, in days ending on (and including) the feature day D:
# the 7-day window of D is D-6..D.
WINDOWS = (1, 7, 28)
LONGEST_WINDOW = max(WINDOWS)

# Topics of capability harvesting (GUIDE §1: reasoning, agentic coding, tool use).
REASONING_TOPICS = ("coding", "math_reasoning", "agentic_tools")
# Networks where many unrelated people share a /24 (households, carrier pools): never a link.
CONSUMER_IP_TYPES = ("residential", "mobile")
LINK_TYPES = ("payment", "ip_prefix", "prompt_simhash", "org")


@dataclass(frozen=True)
class FeatureParams:
    # A request "asks for reasoning" when the gateway classifier says it more likely than not.
    high_cot_threshold: float = 0.5
    # Local night: 00:00-05:59 in the account's own country (fixed UTC offset per country).
    night_start_hour: int = 0
    night_end_hour: int = 6
    # Distinct-value arrays kept per account-day aggregate (IPs, prefixes, ASNs, keys, agents):
    # the smallest values in sort order, so the cut is deterministic. Distinct counts saturate
    # at this many values per account and day (a fleet of 10,000 IPs still reads "very many").
    set_cap: int = 64
    # Prompt SimHashes kept per account-day (and per account in the 7-day window) for the
    # near-duplicate search: the ones with the smallest xxhash64, a consistent sample, so two
    # accounts sending the same prompt tend to keep the same hash.
    simhash_sample_per_day: int = 8
    simhash_sample_per_window: int = 16
    # Near-duplicate: Hamming distance <= k over the 64 bits.
    simhash_k: int = 3
    # The 64 bits are cut into `blocks` blocks; distance <= k leaves at least blocks-k blocks
    # equal, so keying on every choice of blocks-k blocks finds every such pair (pigeonhole).
    # blocks = k+1 is classic banding (16-bit keys for k=3): at seed scale (millions of hashes a
    # week) a 16-bit key holds ~100 unrelated hashes and candidate pairs explode. blocks = k+2
    # gives 10 keys of ~26 bits, where unrelated hashes almost never meet.
    simhash_blocks: int = 5
    # A bucket holding more distinct hashes than this is not expanded into pairs (quadratic);
    # its hashes share >= 26 exact bits, which unrelated hashes essentially never do, so the
    # bucket itself becomes one near-duplicate group (a prompt template family).
    lsh_bucket_cap: int = 64
    # Synchrony (SynchroTrap-style): accounts active in the same 10-minute bucket on the same
    # /24 (or with the same 16-bit prompt band); a slot counts as shared from 3 accounts on,
    # since two people behind one office NAT are ordinary.
    sync_bucket_minutes: int = 10
    sync_min_accounts: int = 3
    # Release chasing: a model first seen in the lake within this many days of D is "new"
    # (models already present on the lake's first day never count as new).
    new_model_days: int = 7
    young_account_days: int = 14
    # Hub caps: an entity tying more scored accounts than this is dropped from the link graph.
    # Why these values: a carrier NAT, a campus or a cloud region /24 ties hundreds of unrelated
    # accounts (cap ip_prefix low); a popular benchmark prompt ties many evaluation users, but a
    # campaign's template ties its thousands of accounts too (cap higher); a payment instrument
    # shared by many accounts has no innocent explanation beyond an org, which has its own link
    # (cap high). Clusters are evidence for the model, not a verdict: a university class that
    # signs up together from one campus /24 forms a cluster and must not be convicted for it.
    hub_caps: dict[str, int] = field(
        default_factory=lambda: {
            "payment": 5000,
            "ip_prefix": 200,
            "prompt_simhash": 2000,
            "org": 5000,
        }
    )
    # An IP prefix links accounts only when it ties at least `prefix_min_accounts` of them and
    # only through accounts whose 7-day traffic is mostly not from consumer networks
    # (residential + mobile share <= `prefix_link_max_consumer_share`). Why: households and
    # carrier pools put two or three unrelated people behind one /24 every day; on a generated
    # tiny lake, 2-account residential prefixes chained 769 of 1,903 accounts (individuals,
    # university classes and four campaigns) into one component. Campaigns behind residential
    # proxies still link through prompts, payment and synchrony. On top of that, only the
    # prefixes an account was seen on over hosted networks link it (`link_prefixes` of the
    # daily aggregate): on a generated small lake, students working from home (a third of
    # their traffic) and two hydras on residential proxies (a third of theirs) shared 641
    # residential /24s, and one component held 1,122 students and both hydras.
    prefix_min_accounts: int = 3
    prefix_link_max_consumer_share: float = 0.5
    # An identical prompt (one exact SimHash, no near-duplicate variant) shared by more accounts
    # than this is a common prompt ("hi", "test", a famous benchmark item) and links nobody;
    # paraphrased families (several variants within distance k) link up to the prompt hub cap.
    prompt_exact_cap: int = 5
    # Connected components: give up (loudly) after this many large-star/small-star rounds
    # (log-many are needed); truncate the lineage every round.
    cc_max_rounds: int = 40
    # Prompt scaffolds (features.template_scaffolds): bit-sampling LSH over the prompt SimHashes.
    # A paraphrase that changes k of the 64 bits keeps a table's b bits with probability
    # C(64-b, k) / C(64, k): 6% per table for k = 7 and b = 20, 3% for b = 24, so 16 tables
    # give each paraphrase about one chance in two of meeting its template's bucket. The width
    # b is ceil(log2(distinct hashes of the day)) + headroom: an unrelated prompt then meets
    # fewer than 2^-5 others per bucket (tiny: ~21 bits; small: ~24; seed: ~28).
    scaffold_tables: int = 16
    scaffold_bits_min: int = 16
    scaffold_bits_max: int = 40
    scaffold_bits_headroom: int = 5
    scaffold_seed: int = 2026
    # A scaffold is shared (a paraphrase family, a template community) from this many accounts:
    # two accounts meeting in one bucket can be chance or a pair of colleagues.
    scaffold_min_accounts: int = 3
    # Propagation (features.propagation): labelled others / (others + smoothing), so one banned
    # neighbour out of one other is evidence 0.5, not certainty.
    propagation_smoothing: float = 1.0
    # Loose synchrony (features.community): a member is "in step" in an (event day, UTC hour)
    # slot when at least this many other members of its template community were active in it.
    community_sync_min_others: int = 2


DEFAULT_PARAMS = FeatureParams()
