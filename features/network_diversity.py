"""How many networks an account's traffic is spread over, in the 7 days ending on D.

A person works from a home, an office, a phone: a handful of /24 prefixes a week. A script
behind a residential proxy service comes from a new household network on almost every request,
so its distinct consumer prefixes grow with its requests however few requests it sends. The
prefix sets of the daily aggregates are capped per account and day (`FeatureParams.set_cap`),
so the counts saturate at the cap for very busy accounts; the ratios stay meaningful.

Pure: the window sums of `features.windows.window_sums` in, one row per account out.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.windows import ratio


def network_diversity(sums: DataFrame, by: Sequence[str] = ()) -> DataFrame:
    """account_id, consumer_prefixes_7d, prefixes_per_request_7d, consumer_prefix_share_7d,
    asns_per_prefix_7d.

    sums: account_id, requests_7d, prefixes_7d, link_prefixes_7d (prefixes seen on hosted
    networks), asns_7d. A consumer prefix is one seen only on residential or mobile networks
    in the window (in `prefixes_7d`, not in `link_prefixes_7d`). `by`: key columns besides the
    account (the feature day of a range), passed through.
    """
    consumer = F.size(F.array_except("prefixes_7d", "link_prefixes_7d"))
    prefixes = F.size("prefixes_7d")
    return sums.select(
        *by,
        "account_id",
        consumer.cast("int").alias("consumer_prefixes_7d"),
        ratio(prefixes, "requests_7d").alias("prefixes_per_request_7d"),
        ratio(consumer, prefixes).alias("consumer_prefix_share_7d"),
        ratio(F.size("asns_7d"), prefixes).alias("asns_per_prefix_7d"),
    )
