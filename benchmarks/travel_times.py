"""Nearest-counter search: scipy.sparse.csgraph (planner) against networkx on the same graphs.

Run: python benchmarks/travel_times.py [--nodes 102400] [--counters 80]

Prints, for the real Camden extract and a synthetic London-size street-like
graph, the time of one multi-source search each way, whether the distances
are identical, and the speed ratio; then the time of the London-wide
public-transport assessment of every LSOA.
"""

from __future__ import annotations

import argparse
import time

import networkx as nx
import numpy as np
import scipy.sparse as sp

from benchmarks._common import data_dir, peak_memory_mb, quiet, timer
from planner.travel.network import graph_from_osm, nearest_source


def street_like(n_side: int, seed: int = 0) -> sp.csr_array:
    """A perturbed grid with 5% of streets removed and some diagonals: planar-ish, like a street network."""
    rng = np.random.default_rng(seed)
    idx = np.arange(n_side * n_side).reshape(n_side, n_side)
    pairs = [
        np.column_stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()]),
        np.column_stack([idx[:-1, :].ravel(), idx[1:, :].ravel()]),
    ]
    diag = np.column_stack([idx[:-1, :-1].ravel(), idx[1:, 1:].ravel()])
    pairs.append(diag[rng.random(len(diag)) < 0.1])
    edges = np.vstack(pairs)
    edges = edges[rng.random(len(edges)) > 0.05]
    minutes = rng.uniform(0.5, 2.0, len(edges))  # 40-160 m blocks at walking pace
    u = np.concatenate([edges[:, 0], edges[:, 1]])
    v = np.concatenate([edges[:, 1], edges[:, 0]])
    w = np.concatenate([minutes, minutes])
    return sp.csr_array((w, (u, v)), shape=(n_side * n_side,) * 2)


def compare(name: str, graph: sp.csr_array, n_sources: int, seed: int = 1) -> float:
    rng = np.random.default_rng(seed)
    sources = rng.choice(graph.shape[0], size=n_sources, replace=False)
    t: dict[str, float] = {}
    with timer(t, "scipy"):
        dist, _ = nearest_source(graph, sources)
    coo = graph.tocoo()
    with timer(t, "nx_build"):
        reference = nx.DiGraph()
        reference.add_nodes_from(range(graph.shape[0]))
        reference.add_weighted_edges_from(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True))
    with timer(t, "networkx"):
        expected = nx.multi_source_dijkstra_path_length(reference, set(sources.tolist()))
    ref = np.full(graph.shape[0], np.inf)
    ref[list(expected)] = list(expected.values())
    same = np.array_equal(np.isfinite(dist), np.isfinite(ref)) and np.allclose(
        dist[np.isfinite(ref)], ref[np.isfinite(ref)], rtol=0, atol=1e-9
    )
    ratio = t["networkx"] / t["scipy"]
    print(f"{name}: {graph.shape[0]:,} nodes, {graph.nnz:,} edges, {n_sources} counters")
    print(f"  scipy.csgraph multi-source Dijkstra  {t['scipy'] * 1000:9.1f} ms")
    print(f"  networkx multi_source_dijkstra       {t['networkx'] * 1000:9.1f} ms  (graph build {t['nx_build']:.2f} s)")
    print(f"  identical distances: {same}   speed ratio: {ratio:.1f}x")
    if not same:
        raise SystemExit("results differ")
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--side", type=int, default=320, help="synthetic grid side (320 -> 102,400 nodes)")
    parser.add_argument("--counters", type=int, default=80)
    args = parser.parse_args()
    quiet()
    data = data_dir()
    camden = graph_from_osm(data.parent / "osm" / "camden.osm.pbf", mode="walk")
    from planner.travel.network import StreetNetwork

    compare("Camden walk network (real OSM extract)", StreetNetwork(camden).csgraph, args.counters)
    ratio = compare("Synthetic London-size street grid", street_like(args.side), args.counters)
    print(f"  target >= 15x on the London-size graph: {'met' if ratio >= 15 else 'NOT met'}")

    from planner.assess import assess
    from planner.london import load_london
    from planner.stations import select_counters
    from planner.travel import make_engine

    london = load_london(data)
    counters = select_counters(london.stations, "status_final_nov2017=retain,new")
    seconds = {}
    for name in ("transit-simple", "transit"):
        start = time.perf_counter()
        engine = make_engine(name, data=london.paths)
        result = assess(london.study_demand, counters, engine)
        seconds[name] = time.perf_counter() - start
        lon = result.london.iloc[0]
        print(
            f"London-wide public-transport assessment ({name}) of {len(result.points):,} LSOAs, final 2017 plan: "
            f"{seconds[name]:.2f} s including loading the engine's data "
            f"(mean {lon.mean_minutes:.1f} min, {int(lon.beyond):,} residents beyond 45 min)"
        )
    print(f"  route-following / first approximation: {seconds['transit'] / seconds['transit-simple']:.1f}x the time")
    print(f"  target <= 2 s for the transit engine: {'met' if seconds['transit'] <= 2 else 'NOT met'}")

    print(f"peak memory of this process: {peak_memory_mb():,.0f} MB")


if __name__ == "__main__":
    main()
