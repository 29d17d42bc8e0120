"""Connected components of the link graph: on the driver when the edges fit, else as iterative
Spark joins (alternating large-star / small-star).

An edge list of up to `LOCAL_EDGES` edges (a day's or a range pass's link graph, up to seed
scale) is collected once and labelled by SciPy's sparse-graph connected components: one Spark
job, where the iterative form costs a dozen rounds of shuffles and checkpoints however small the
graph. Larger graphs stay distributed: Kiveris et al., "Connected Components in MapReduce and
Beyond" (SoCC 2014): each round is a few group-bys and joins over the edge list, the number of
rounds grows with log(n), and at the fixed point every component is a star centred on its
smallest node; the driver only counts edges to detect convergence, and the lineage is cut every
round (`localCheckpoint`), so round 20 plans as cheaply as round 1. Both name a component by
its smallest node.
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

# Canonical edges collected to the driver at most (two short strings each: tens of MB).
LOCAL_EDGES = 5_000_000


class ComponentsDidNotConverge(RuntimeError):
    pass


def _canonical(edges: DataFrame) -> DataFrame:
    """Undirected simple edges as (u, v) with u > v, self-loops and repeats dropped."""
    return (
        edges.select(F.greatest("src", "dst").alias("u"), F.least("src", "dst").alias("v"))
        .where(F.col("u") != F.col("v"))
        .distinct()
    )


def large_star(e: DataFrame) -> DataFrame:
    """Link every neighbour larger than a node to the smallest of the node's neighbourhood."""
    both = e.select(F.col("u").alias("x"), F.col("v").alias("y")).unionByName(
        e.select(F.col("v").alias("x"), F.col("u").alias("y"))
    )
    mins = both.groupBy("x").agg(F.min("y").alias("m"))
    return (
        both.where(F.col("y") > F.col("x"))
        .join(mins, "x")
        .select(F.col("y").alias("u"), F.least("x", "m").alias("v"))
        .distinct()
    )


def small_star(e: DataFrame) -> DataFrame:
    """Link a node and its smaller neighbours to the smallest of them."""
    mins = e.groupBy("u").agg(F.min("v").alias("m"))
    moved = (
        e.join(mins, "u")
        .where(F.col("v") != F.col("m"))
        .select(F.col("v").alias("u"), F.col("m").alias("v"))
    )
    return moved.unionByName(mins.select("u", F.col("m").alias("v"))).distinct()


def _is_star_forest(e: DataFrame) -> bool:
    """True when every node has at most one (smaller) parent and no parent has a parent."""
    parents = e.groupBy("u").agg(F.count(F.lit(1)).alias("n"))
    centres = e.select(F.col("v").alias("u"), F.lit(1).alias("centre")).distinct()
    offending = parents.join(centres, "u", "left").where(
        (F.col("n") > 1) | F.col("centre").isNotNull()
    )
    return offending.limit(1).count() == 0  # one job per round


def local_components(pairs, spark) -> DataFrame:
    """(node, component) of canonical edges held on the driver (a pandas frame u, v)."""
    import numpy as np
    import pandas as pd
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components as label_components

    # Sorted distinct nodes, so a component's first node in that order is its smallest.
    index, nodes = pd.factorize(pd.concat([pairs["u"], pairs["v"]], ignore_index=True), sort=True)
    nodes = np.asarray(nodes, dtype=object)
    n, m = len(nodes), len(pairs)
    graph = coo_matrix((np.ones(m, dtype=np.int8), (index[:m], index[m:])), shape=(n, n))
    _, labels = label_components(graph, directed=False)
    smallest = np.full(labels.max() + 1 if n else 0, n, dtype=np.int64)
    np.minimum.at(smallest, labels, np.arange(n))
    out = pd.DataFrame({"node": nodes, "component": nodes[smallest[labels]]})
    return spark.createDataFrame(out.astype(str), "node STRING, component STRING")


def connected_components(
    edges: DataFrame,
    max_rounds: int = 40,
    cut: Callable[[DataFrame], DataFrame] | None = None,
    local_edges: int = LOCAL_EDGES,
) -> DataFrame:
    """(src, dst) edges -> (node, component): component = the smallest node id in it.

    Only nodes with at least one edge appear. Up to `local_edges` distinct edges are labelled
    on the driver (0: always the Spark rounds). `cut` truncates the lineage each Spark round
    (default: an eager `localCheckpoint`).
    """
    canonical = _canonical(edges)
    if local_edges > 0:
        # One job: a graph over the limit shows itself by its (local_edges + 1)-th edge.
        pairs = canonical.limit(local_edges + 1).toPandas()
        if len(pairs) <= local_edges:
            return local_components(pairs, edges.sparkSession)
    cut = cut or (lambda df: df.localCheckpoint(eager=True))
    e = cut(canonical)
    for _ in range(max_rounds):
        e = cut(small_star(large_star(e)))
        if _is_star_forest(e):
            break
    else:
        raise ComponentsDidNotConverge(f"no fixed point after {max_rounds} rounds")
    return e.select(F.col("u").alias("node"), F.col("v").alias("component")).unionByName(
        e.select(F.col("v").alias("node"), F.col("v").alias("component")).distinct()
    )
