"""Nearest-counter search: planner against networkx and a bare scipy.sparse.csgraph call on the same graphs.

Run: python -m benchmarks.travel_times [--side 320] [--counters 80] [--repeat 15]

For the real Camden extract and a synthetic London-size street-like graph
(102,400 nodes), times planner's nearest-counter search
(:func:`planner.travel.network.nearest_counter`: each counter joined to its
node by its walk, one Dijkstra search from all of them), networkx's Dijkstra
from a virtual source joined to every counter the same way, and a bare
``scipy.sparse.csgraph.dijkstra`` call on the same prepared graph.  Each is
the best of several runs, interleaved, so that machine load hits them alike.
Prints whether the distances are identical, the ratios and the targets; then
the time of the London-wide public-transport assessment of every LSOA (target 1.5 s with the data
loading, National Rail and trams included) and of the minutes from every postcode (target 8 s).
"""

from __future__ import annotations

import argparse
import time

import networkx as nx
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from benchmarks._common import data_dir, peak_memory_mb, quiet, timer
from planner.travel.network import graph_from_osm, nearest_counter, with_entries


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


def _best(func, repeat: int) -> float:
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def compare(name: str, graph: sp.csr_array, n_counters: int, *, repeat: int, seed: int = 1) -> tuple[float, float]:
    """Time planner's nearest-counter search against networkx and bare scipy; return both ratios."""
    rng = np.random.default_rng(seed)
    nodes = rng.choice(graph.shape[0], size=n_counters, replace=False)
    legs = rng.uniform(0.0, 3.0, n_counters)  # each counter's walk from its network node
    reverse = sp.csr_array(graph.T)
    n = graph.shape[0]
    prepared = with_entries(reverse, nodes, legs)
    extra = n + np.arange(n_counters)
    dist, _ = nearest_counter(reverse, nodes, legs)
    coo = prepared.tocoo()
    t: dict[str, float] = {}
    with timer(t, "nx_build"):
        reference = nx.DiGraph()
        reference.add_nodes_from(range(prepared.shape[0] + 1))
        reference.add_weighted_edges_from(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True))
        source = prepared.shape[0]  # the virtual source, joined to every counter's extra node
        reference.add_weighted_edges_from((source, int(e), 0.0) for e in extra)
    expected = nx.single_source_dijkstra_path_length(reference, source)
    ref = np.full(n, np.inf)
    keys = np.fromiter((k for k in expected if k < n), dtype=np.int64)
    ref[keys] = [expected[k] for k in keys.tolist()]
    same = np.array_equal(np.isfinite(dist), np.isfinite(ref)) and np.allclose(
        dist[np.isfinite(ref)], ref[np.isfinite(ref)], rtol=0, atol=1e-6
    )
    t["planner"] = t["bare"] = t["networkx"] = np.inf
    for i in range(repeat):  # interleaved, best of each
        t["planner"] = min(t["planner"], _best(lambda: nearest_counter(reverse, nodes, legs), 1))
        t["bare"] = min(t["bare"], _best(lambda: dijkstra(prepared, directed=True, indices=extra, min_only=True), 1))
        if i < 3:
            t["networkx"] = min(
                t["networkx"], _best(lambda: nx.single_source_dijkstra_path_length(reference, source), 1)
            )
    ratio = t["networkx"] / t["planner"]
    overhead = t["planner"] / t["bare"]
    print(f"{name}: {n:,} nodes, {graph.nnz:,} edges, {n_counters} counters (best of {repeat}; networkx best of 3)")
    print(f"  planner nearest_counter (one Dijkstra) {t['planner'] * 1000:9.1f} ms")
    print(f"  bare scipy.sparse.csgraph.dijkstra     {t['bare'] * 1000:9.1f} ms")
    print(
        f"  networkx Dijkstra, virtual source      {t['networkx'] * 1000:9.1f} ms  (graph build {t['nx_build']:.2f} s)"
    )
    print(f"  identical distances: {same}; {ratio:.1f}x networkx; {overhead:.2f}x the bare scipy call")
    if not same:
        raise SystemExit("results differ")
    return ratio, overhead


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--side", type=int, default=320, help="synthetic grid side (320 -> 102,400 nodes)")
    parser.add_argument("--counters", type=int, default=80)
    parser.add_argument("--repeat", type=int, default=15, help="runs per timing (the best is kept)")
    args = parser.parse_args()
    quiet()
    data = data_dir()
    camden = graph_from_osm(data.parent / "osm" / "camden.osm.pbf", mode="walk")
    from planner.travel.network import StreetNetwork

    compare("Camden walk network (real OSM extract)", StreetNetwork(camden).csgraph, args.counters, repeat=args.repeat)
    ratio, overhead = compare(
        "Synthetic London-size street grid", street_like(args.side), args.counters, repeat=args.repeat
    )
    print(f"  target >= 20x networkx on the London-size graph: {'met' if ratio >= 20 else 'NOT met'} ({ratio:.1f}x)")
    print(f"  aim <= 1.5x the bare scipy call: {'met' if overhead <= 1.5 else 'NOT met'} ({overhead:.2f}x)")

    from planner.assess import assess
    from planner.london import load_london
    from planner.postcodes import load_postcodes, postcode_access, postcode_file
    from planner.stations import select_counters
    from planner.travel import make_engine

    london = load_london(data)
    counters = select_counters(london.stations, "status_final_nov2017=retain,new")
    seconds = {}
    engines = {}
    for name in ("transit-simple", "transit"):
        start = time.perf_counter()
        engines[name] = make_engine(name, data=london.paths)
        result = assess(london.study_demand, counters, engines[name])
        seconds[name] = time.perf_counter() - start
        lon = result.london.iloc[0]
        print(
            f"London-wide public-transport assessment ({name}) of {len(result.points):,} LSOAs, final 2017 plan: "
            f"{seconds[name]:.2f} s including loading the engine's data "
            f"(mean {lon.mean_minutes:.1f} min, {int(lon.beyond):,} residents beyond 45 min)"
        )
    print(
        f"  route-following with trains and trams / first approximation: "
        f"{seconds['transit'] / seconds['transit-simple']:.1f}x the time"
    )
    print(f"  target <= 1.5 s for the transit engine: {'met' if seconds['transit'] <= 1.5 else 'NOT met'}")
    path = postcode_file(london.paths.root)
    if path is None:
        print("postcode minutes: no postcode file in the data directory (skipped)")
    else:
        points = load_postcodes(path)
        start = time.perf_counter()
        table = postcode_access(points, counters, engines["transit"], wards=london.study_wards)
        elapsed = time.perf_counter() - start
        print(
            f"postcode minutes (transit, engine loaded) for all {len(table):,} postcodes: {elapsed:.2f} s, "
            f"{int(table['minutes'].notna().sum()):,} reach a counter"
        )
        print(f"  target <= 8 s: {'met' if elapsed <= 8 else 'NOT met'}")

    peak = peak_memory_mb()
    print(f"peak memory of this process: {peak:,.0f} MB; target <= 2 GB: {'met' if peak <= 2048 else 'NOT met'}")


if __name__ == "__main__":
    main()
