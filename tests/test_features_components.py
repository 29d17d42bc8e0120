"""Connected components, hub capping and cluster ids that stay stable across days."""

from __future__ import annotations

import datetime as dt

import pytest
from pyspark.sql import functions as F

from features.clusters import assign_clusters, new_cluster_id
from features.components import LOCAL_EDGES, connected_components
from features.links import star_edges
from features.params import FeatureParams

D = dt.date(2026, 5, 20)


def _components(df) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for r in df.collect():
        groups.setdefault(r.component, set()).add(r.node)
    for comp, nodes in groups.items():
        assert comp == min(nodes)  # the component is named by its smallest node
    return {frozenset(g) for g in groups.values()}


@pytest.mark.parametrize("local_edges", [LOCAL_EDGES, 0], ids=["driver", "spark-rounds"])
def test_known_graph_gives_known_components(spark, local_edges):
    # A long path (needs several rounds), a star, a triangle with a tail, and a pair.
    path = [(f"p{i:02d}", f"p{i + 1:02d}") for i in range(0, 24)]
    star = [("s0", f"s{i}") for i in range(1, 6)]
    tri = [("t1", "t2"), ("t2", "t3"), ("t3", "t1"), ("t3", "t4")]
    pair = [("z2", "z1"), ("z1", "z2"), ("z1", "z1")]  # repeats and a self-loop
    edges = spark.createDataFrame(path + star + tri + pair, "src STRING, dst STRING")
    got = _components(connected_components(edges, local_edges=local_edges))
    assert got == {
        frozenset(f"p{i:02d}" for i in range(25)),
        frozenset(["s0", "s1", "s2", "s3", "s4", "s5"]),
        frozenset(["t1", "t2", "t3", "t4"]),
        frozenset(["z1", "z2"]),
    }
    # Negative control: cutting the path in the middle splits its component.
    cut = [e for e in path if e != ("p11", "p12")]
    got2 = _components(
        connected_components(
            spark.createDataFrame(cut, "src STRING, dst STRING"), local_edges=local_edges
        )
    )
    assert frozenset(f"p{i:02d}" for i in range(25)) not in got2
    assert frozenset(f"p{i:02d}" for i in range(12)) in got2


@pytest.mark.parametrize("local_edges", [LOCAL_EDGES, 0], ids=["driver", "spark-rounds"])
def test_empty_graph(spark, local_edges):
    edges = spark.createDataFrame([], "src STRING, dst STRING")
    assert connected_components(edges, local_edges=local_edges).count() == 0


def test_a_graph_over_the_driver_limit_runs_as_spark_rounds(spark, monkeypatch):
    """The limit decides the path: over it, the driver never labels the graph."""
    from features import components

    def refuse(*args):
        raise AssertionError("labelled on the driver")

    monkeypatch.setattr(components, "local_components", refuse)
    edges = spark.createDataFrame([("a", "b"), ("b", "c"), ("x", "y")], "src STRING, dst STRING")
    assert _components(connected_components(edges, local_edges=2)) == {
        frozenset("abc"),
        frozenset("xy"),
    }
    with pytest.raises(AssertionError, match="driver"):  # negative control: within the limit
        connected_components(edges, local_edges=3)


def test_hub_entity_above_cap_is_ignored(spark):
    members = spark.createDataFrame(
        [
            ("payment", "pf1", "a"),
            ("payment", "pf1", "b"),
            ("ip_prefix", "10.0.0.0/24", "b"),
            ("ip_prefix", "10.0.0.0/24", "c"),
            # A hub: one prefix tying 4 accounts, above a cap of 3.
            *[("ip_prefix", "100.64.0.0/24", x) for x in ("a", "x", "y", "z")],
            ("org", "o1", "solo"),
        ],
        "kind STRING, entity STRING, account_id STRING",
    )
    params = FeatureParams(
        hub_caps={"payment": 10, "ip_prefix": 3, "prompt_simhash": 10, "org": 10},
        prefix_min_accounts=2,
    )
    edges = star_edges(members, params)
    comps = _components(connected_components(edges))
    assert comps == {frozenset(["a", "b", "c"])}
    assert {(r.src, r.dst, r.kind) for r in edges.collect()} == {
        ("b", "a", "payment"),
        ("c", "b", "ip_prefix"),
    }
    # Negative control: with a higher cap the hub merges x, y, z in.
    loose = FeatureParams(
        hub_caps={"payment": 10, "ip_prefix": 4, "prompt_simhash": 10, "org": 10},
        prefix_min_accounts=2,
    )
    comps2 = _components(connected_components(star_edges(members, loose)))
    assert comps2 == {frozenset(["a", "b", "c", "x", "y", "z"])}
    # The default floor of 3 accounts per prefix: the 2-account prefix b-c links nobody.
    strict = FeatureParams(hub_caps=params.hub_caps)
    assert _components(connected_components(star_edges(members, strict))) == {frozenset(["a", "b"])}


def _edges(spark, groups: list[list[str]], kind: str = "payment"):
    rows = [(g[i], g[0], kind) for g in groups for i in range(1, len(g))]
    return spark.createDataFrame(rows, "src STRING, dst STRING, kind STRING")


def _clusters(spark, groups, previous_rows, day):
    edges = _edges(spark, groups)
    comps = connected_components(edges.select("src", "dst"))
    prev = spark.createDataFrame(
        previous_rows, "account_id STRING, cluster_id STRING, cluster_first_date DATE"
    )
    rows = assign_clusters(comps, edges, prev, day).collect()
    return {r.account_id: r for r in rows}


def test_cluster_ids_stable_while_most_members_persist(spark):
    day1 = _clusters(spark, [["a", "b", "c", "d"], ["m", "n"]], [], D)
    id1 = day1["a"].cluster_id
    assert {day1[x].cluster_id for x in "abcd"} == {id1}
    assert day1["a"].cluster_size == 4 and day1["a"].link_types == ["payment"]
    assert day1["a"].cluster_first_date == D
    assert id1 == spark.range(1).select(new_cluster_id(F.lit("a"), D)).first()[0]
    prev = [(k, r.cluster_id, r.cluster_first_date) for k, r in day1.items()]
    # Next day: d leaves, e joins: 3 of 4 old members persist -> same id, same first date.
    day2 = _clusters(spark, [["a", "b", "c", "e"], ["m", "x"]], prev, D + dt.timedelta(days=1))
    assert day2["e"].cluster_id == id1 and day2["e"].cluster_first_date == D
    # m/n -> m/x keeps only 1 of 2 members: not a majority, so a new id.
    assert day2["m"].cluster_id != day1["m"].cluster_id
    assert day2["m"].cluster_first_date == D + dt.timedelta(days=1)
    # Day 3: most of the old members gone (only a of a,b,c,e remains) -> new id.
    prev2 = [(k, r.cluster_id, r.cluster_first_date) for k, r in day2.items()]
    day3 = _clusters(spark, [["a", "f", "g"]], prev2, D + dt.timedelta(days=2))
    assert day3["a"].cluster_id != id1


def test_merged_clusters_keep_the_largest_contributors_id(spark):
    prev = [
        ("a", "cl_big", D),
        ("b", "cl_big", D),
        ("c", "cl_big", D),
        ("x", "cl_small", D),
        ("y", "cl_small", D),
    ]
    day2 = _clusters(spark, [["a", "b", "c", "x", "y"]], prev, D + dt.timedelta(days=1))
    assert {r.cluster_id for r in day2.values()} == {"cl_big"}
    # A split: the part holding the majority keeps the id, the other part gets a new one.
    day3 = _clusters(
        spark,
        [["a", "b", "c"], ["x", "y"]],
        [(k, r.cluster_id, r.cluster_first_date) for k, r in day2.items()],
        D + dt.timedelta(days=2),
    )
    assert day3["a"].cluster_id == "cl_big"
    assert day3["x"].cluster_id not in ("cl_big", "cl_small")
    # An even split holds no majority: neither half keeps the id.
    day4 = _clusters(
        spark,
        [["a", "b"], ["c", "x"]],
        [("a", "cl_q", D), ("b", "cl_q", D), ("c", "cl_q", D), ("x", "cl_q", D)],
        D + dt.timedelta(days=3),
    )
    assert "cl_q" not in {r.cluster_id for r in day4.values()}


def test_prefix_memberships_come_from_hosted_prefixes_only(spark):
    from features.links import memberships

    registry = spark.createDataFrame(
        [("a", None, None)], "account_id string, payment_fingerprint string, org_id string"
    )
    sums = spark.createDataFrame(
        [("a", ["1.1.1.0/24", "2.2.2.0/24"], ["2.2.2.0/24"], 10, 1, 0)],
        "account_id string, prefixes_7d array<string>, link_prefixes_7d array<string>, "
        "requests_7d bigint, n_iptype_residential_7d bigint, n_iptype_mobile_7d bigint",
    )
    got = {(r.kind, r.entity) for r in memberships(registry, sums).collect()}
    # 1.1.1.0/24 was seen only on a consumer network: no membership through it.
    assert got == {("ip_prefix", "2.2.2.0/24")}
