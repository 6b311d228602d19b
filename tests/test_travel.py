import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest

from planner.assess import assess, weighted_quantile
from planner.demand import Demand
from planner.errors import CRSError, EngineError, OptionError
from planner.stations import select_counters
from planner.travel import CrowFly, StreetNetwork, make_engine
from planner.travel.network import graph_from_osm


def points(ids, xy, **cols):
    return gpd.GeoDataFrame({"point_id": ids, **cols}, geometry=gpd.points_from_xy(*zip(*xy, strict=True)), crs=27700)


def counters(ids, xy):
    frame = points(ids, xy)
    return frame.rename(columns={"point_id": "station_id"})


def tiny_graph():
    """A--B--C in a line (800 m each), C--E spur (400 m); D--F a separate island."""
    g = nx.MultiDiGraph(crs="EPSG:27700")
    for n, (x, y) in {
        "A": (0, 0),
        "B": (800, 0),
        "C": (1600, 0),
        "E": (1600, 400),
        "D": (9000, 9000),
        "F": (9100, 9000),
    }.items():
        g.add_node(n, x=x, y=y)
    for u, v in [("A", "B"), ("B", "C"), ("C", "E"), ("D", "F")]:
        length = np.hypot(g.nodes[u]["x"] - g.nodes[v]["x"], g.nodes[u]["y"] - g.nodes[v]["y"])
        g.add_edge(u, v, length=length)
        g.add_edge(v, u, length=length)
    return g


def test_tiny_graph_by_hand():
    engine = StreetNetwork(tiny_graph(), walk_speed_kmh=4.8)  # 80 m a minute
    origins = points(["a", "e", "d", "far"], [(0, 0), (1600, 400), (9000, 9000), (0, 3000)])
    result = engine.nearest(origins, counters(["c1", "c2"], [(1600, 0), (-80, 0)]))
    t = result.table.set_index("point_id")
    # a: 80 m snap walk to c2 (1 min) beats 1600 m to c1 (20 min)
    assert t.loc["a", "minutes"] == pytest.approx(1.0)
    assert t.loc["a", "station_id"] == "c2"
    # e: 400 m spur to C = 5 min
    assert t.loc["e", "minutes"] == pytest.approx(5.0)
    assert t.loc["e", "station_id"] == "c1"
    # d: on an island with no counter
    assert t.loc["d", "status"] == "unreachable"
    assert not t.loc["d", "reachable"] and np.isnan(t.loc["d", "minutes"])
    # far: 3 km from any node
    assert t.loc["far", "status"] == "off-network"
    assert result.unreachable == 2
    # snap distances are reported: "far" is 3 km from node A
    assert t.loc["far", "snap_m"] == pytest.approx(3000.0)
    assert t.loc["a", "snap_m"] == 0.0


def test_full_matrix_and_k_nearest_are_labelled():
    engine = StreetNetwork(tiny_graph())
    origins = points(["a", "e"], [(0, 0), (1600, 400)])
    matrix = engine.matrix(origins, counters(["c1", "c2"], [(1600, 0), (800, 0)]))
    frame = matrix.to_frame()
    assert frame.loc["a", "c1"] == pytest.approx(20.0)
    assert frame.loc["a", "c2"] == pytest.approx(10.0)
    assert frame.loc["e", "c2"] == pytest.approx(15.0)
    k2 = engine.nearest(origins, counters(["c1", "c2"], [(1600, 0), (800, 0)]), k=2).table
    assert k2.loc[0, ["station_id", "station_id_2"]].tolist() == ["c2", "c1"]
    assert k2["snap_m"].tolist() == [0.0, 0.0]


def test_network_refuses_unprojected_graph():
    g = tiny_graph()
    g.graph["crs"] = "EPSG:4326"
    with pytest.raises(EngineError, match="27700"):
        StreetNetwork(g)


def test_engine_refuses_wrong_crs():
    origins = points(["a"], [(0, 0)]).set_crs(4326, allow_override=True)
    with pytest.raises(CRSError, match="not British National Grid"):
        CrowFly().nearest(origins, counters(["c"], [(1, 1)]))


def test_crowfly_threshold_edge():
    engine = CrowFly(speed_kmh=4.8, circuity=1.0)  # 3600 m is exactly 45.0 minutes
    pts = points(
        ["on", "over"],
        [(3600, 0), (3600.5, 0)],
        ward_code="W",
        ward_name="W",
        borough_code="B",
        borough_name="B",
        population=[100, 10],
        pop_65_plus=[5, 1],
        in_met=True,
    )
    wards = pd.DataFrame({"ward_code": ["W"], "ward_name": ["W"], "borough_code": ["B"], "borough_name": ["B"]})
    result = assess(Demand(pts, wards, 2019), counters(["c"], [(0, 0)]), engine, threshold=45)
    assert result.points["minutes"].iloc[0] == 45.0
    assert result.points["beyond"].tolist() == [False, True]
    assert result.london.loc[0, "beyond"] == 10
    assert result.london.loc[0, "beyond_65_plus"] == 1
    assert result.wards.loc[0, "share_beyond"] == pytest.approx(10 / 110)
    for bad in (0, -5, float("nan"), float("inf")):
        with pytest.raises(OptionError, match="positive, finite"):
            assess(Demand(pts, wards, 2019), counters(["c"], [(0, 0)]), engine, threshold=bad)


def test_weighted_quantile():
    assert weighted_quantile(np.array([10, 20, 30]), np.array([1, 1, 2]), 0.5) == 20
    assert weighted_quantile(np.array([10, 20, 30]), np.array([1, 1, 2]), 0.95) == 30
    assert weighted_quantile(np.array([10, np.nan]), np.array([1, 9]), 0.5) == np.inf


def test_make_engine_errors():
    with pytest.raises(EngineError, match="unknown engine 'bus'"):
        make_engine("bus")
    with pytest.raises(EngineError, match=r"unknown crowfly parameter\(s\) \[.warp.\]"):
        make_engine("crowfly", params={"warp": 9})


# A synthetic street map, in metres east and north of (530000, 180000) on the British National Grid:
#   1 (0,0) -> 2 (100,0) one-way; 2 - 3 (100,100) - 4 (0,100) - 1 two-way, so 2 -> 1 drives 300 m round;
#   2 - 5 (200,0) oneway=-1 (driven 5 -> 2 only); 5 -> 6 (300,0) -> 7 (250,50) -> 5 a roundabout;
#   3 - 8 a pedestrian area, 4 - 9 a private service road, 2 - 10 (100,-100) a motorway; 20 - 21 an island;
#   dead ends 1 - 11 (-100,0) and 6 - 12 (300,-100) keep 1 and 6 as junctions in the simplified .osm graph.
SYNTHETIC_NODES = {
    1: (0, 0),
    2: (100, 0),
    3: (100, 100),
    4: (0, 100),
    5: (200, 0),
    6: (300, 0),
    7: (250, 50),
    8: (100, 200),
    9: (0, 200),
    10: (100, -100),
    11: (-100, 0),
    12: (300, -100),
    20: (1000, 1000),
    21: (1100, 1000),
}
SYNTHETIC_WAYS = {
    10: ([1, 2], {"highway": "residential", "oneway": "yes"}),
    11: ([2, 3, 4, 1], {"highway": "residential"}),
    12: ([2, 5], {"highway": "residential", "oneway": "-1"}),
    13: ([5, 6, 7, 5], {"highway": "primary", "junction": "roundabout"}),
    14: ([3, 8], {"highway": "pedestrian", "area": "yes"}),
    15: ([4, 9], {"highway": "service", "access": "private"}),
    16: ([2, 10], {"highway": "motorway"}),
    17: ([20, 21], {"highway": "residential"}),
    18: ([1, 11], {"highway": "residential"}),
    19: ([6, 12], {"highway": "residential"}),
}
MPH30 = 30 * 1.609344 * 1000 / 60  # metres a minute at 30 mph, every synthetic way's maxspeed


def write_osm(path, nodes, ways):
    """Write WGS84 nodes and tagged ways as .osm XML or .osm.pbf (by the file name) with pyosmium."""
    import osmium

    with osmium.SimpleWriter(str(path)) as writer:
        for node_id, (lon, lat) in sorted(nodes.items()):
            writer.add_node(osmium.osm.mutable.Node(id=node_id, location=(lon, lat)))
        for way_id, (refs, tags) in sorted(ways.items()):
            writer.add_way(osmium.osm.mutable.Way(id=way_id, nodes=refs, tags=tags))
    return path


def synthetic_lonlat():
    """The synthetic nodes in WGS84, rounded to OSM's 7 decimals as a file stores them."""
    from pyproj import Transformer

    to_wgs84 = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    out = {}
    for node_id, (dx, dy) in SYNTHETIC_NODES.items():
        lon, lat = to_wgs84.transform(530000 + dx, 180000 + dy)
        out[node_id] = (round(lon, 7), round(lat, 7))
    return out


@pytest.fixture(scope="module")
def synthetic_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synthetic_osm")
    ways = {i: (refs, {**tags, "maxspeed": "30 mph"}) for i, (refs, tags) in SYNTHETIC_WAYS.items()}
    lonlat = synthetic_lonlat()
    return {suffix: write_osm(folder / f"map{suffix}", lonlat, ways) for suffix in (".osm", ".osm.pbf")}


def minutes_between(engine, pairs):
    """Network minutes from node a to node b for each (a, b), with origins and counters placed on the nodes."""
    xy = {n: (engine.graph.nodes[n]["x"], engine.graph.nodes[n]["y"]) for n in engine.graph.nodes}
    nodes = sorted({n for pair in pairs for n in pair})
    frame = engine.matrix(
        points([str(n) for n in nodes], [xy[n] for n in nodes]),
        counters([str(n) for n in nodes], [xy[n] for n in nodes]),
    ).to_frame()
    return [frame.loc[str(a), str(b)] for a, b in pairs]


@pytest.fixture(scope="module")
def wood_green_walk(osm_dir):
    """The Wood Green walk graph from its .osm XML, read once for this module's tests."""
    return graph_from_osm(osm_dir / "wood_green.osm", mode="walk")


def _graph_digest(graph) -> str:
    import hashlib

    edges = sorted((u, v, round(d["length"], 6)) for u, v, d in graph.edges(data=True))
    return f"{graph.number_of_nodes()} {hashlib.sha256(repr(edges).encode()).hexdigest()}"


@pytest.fixture(scope="module")
def camden_walk(osm_dir):
    """The Camden walk graph, read once for this module's tests (none of them changes it)."""
    return graph_from_osm(osm_dir / "camden.osm.pbf", mode="walk")


@pytest.mark.parametrize("suffix", [".osm", ".osm.pbf"])
def test_synthetic_streets_by_hand(synthetic_files, suffix):
    """One-way streets, oneway=-1 and a roundabout, walked and driven, from both readers."""
    walk = StreetNetwork(graph_from_osm(synthetic_files[suffix], mode="walk"))  # 80 m a minute
    got = minutes_between(walk, [(1, 2), (2, 1), (2, 5), (5, 2), (5, 6), (6, 5)])
    # walking ignores one-way tags; 6 -> 5 walks the roundabout's 100 m side back
    assert got == pytest.approx([100 / 80, 100 / 80, 100 / 80, 100 / 80, 100 / 80, 100 / 80], abs=1e-3)
    drive = StreetNetwork(graph_from_osm(synthetic_files[suffix], mode="drive"), mode="drive")
    there, back, against, along, round_, round_back = minutes_between(
        drive, [(1, 2), (2, 1), (2, 5), (5, 2), (5, 6), (6, 5)]
    )
    assert there == pytest.approx(100 / MPH30, abs=1e-3)
    assert back == pytest.approx(300 / MPH30, abs=1e-3)  # round by 3 and 4
    assert np.isinf(against)  # oneway=-1: 2 -> 5 is against the traffic and there is no other way
    assert along == pytest.approx(100 / MPH30, abs=1e-3)
    assert round_ == pytest.approx(100 / MPH30, abs=1e-3)
    assert round_back == pytest.approx(2 * np.hypot(50, 50) / MPH30, abs=1e-3)  # on round by 7


@pytest.mark.parametrize("suffix", [".osm", ".osm.pbf"])
def test_unusable_ways_and_islands_are_dropped(synthetic_files, suffix):
    walk = graph_from_osm(synthetic_files[suffix], mode="walk")
    drive = graph_from_osm(synthetic_files[suffix], mode="drive")
    # the pedestrian area (8), the private road (9), the motorway (10, walking) and the island (20, 21)
    assert not {8, 9, 10, 20, 21} & set(walk.nodes)
    assert {1, 2, 5} <= set(walk.nodes)
    assert 10 in drive.nodes and not {8, 9, 20, 21} & set(drive.nodes)


@pytest.mark.parametrize("mode", ["walk", "drive"])
def test_both_readers_measure_planar_lengths(synthetic_files, mode):
    """Issue 15.4: the .osm and .osm.pbf readers give the same planar EPSG:27700 lengths."""
    from pyproj import Transformer

    xml = graph_from_osm(synthetic_files[".osm"], mode=mode)
    pbf = graph_from_osm(synthetic_files[".osm.pbf"], mode=mode)
    # every PBF edge is one segment: its length is the straight line between the projected file positions
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    bng = {n: to_bng.transform(*ll) for n, ll in synthetic_lonlat().items()}
    for u, v, length in pbf.edges(data="length"):
        assert length == pytest.approx(np.hypot(bng[u][0] - bng[v][0], bng[u][1] - bng[v][1]), rel=1e-12)
    # the .osm graph is simplified (its edges run through several segments) but measures the same streets
    assert set(xml.nodes) <= set(pbf.nodes)
    total = sum(length for *_, length in xml.edges(data="length"))
    assert total == pytest.approx(sum(length for *_, length in pbf.edges(data="length")), rel=1e-12)
    nodes = sorted(xml.nodes)
    pairs = [(a, b) for a in nodes for b in nodes]
    assert minutes_between(StreetNetwork(xml, mode=mode), pairs) == pytest.approx(
        minutes_between(StreetNetwork(pbf, mode=mode), pairs), rel=1e-9
    )


def test_planar_lengths_follow_the_geometry():
    import shapely

    from planner.travel.network import planar_lengths

    g = nx.MultiDiGraph(crs="EPSG:27700")
    g.add_node("a", x=0.0, y=0.0)
    g.add_node("b", x=300.0, y=0.0)
    g.add_edge("a", "b", length=1.0, geometry=shapely.LineString([(0, 0), (0, 400), (300, 0)]))
    g.add_edge("b", "a", length=1.0)
    planar_lengths(g)
    assert sorted(length for *_, length in g.edges(data="length")) == [300.0, 900.0]  # 400 + 500 round, 300 back


@pytest.mark.data
def test_a_real_extract_reads_the_same_both_ways(osm_dir, tmp_path):
    """A corner of the Wood Green extract written as .osm and as .osm.pbf gives the same street lengths."""
    import osmium

    lonlat, ways = {}, {}
    for obj in osmium.FileProcessor(str(osm_dir / "wood_green.osm")):
        if obj.is_node():
            lonlat[obj.id] = (obj.location.lon, obj.location.lat)
        elif obj.is_way():
            refs = [n.ref for n in obj.nodes]
            if all(-0.125 < lonlat[r][0] < -0.105 and 51.595 < lonlat[r][1] < 51.605 for r in refs):
                ways[obj.id] = (refs, dict(obj.tags))
    used = {r for refs, _ in ways.values() for r in refs}
    nodes = {n: ll for n, ll in lonlat.items() if n in used}
    assert len(ways) > 100
    for mode in ("walk", "drive"):
        xml = graph_from_osm(write_osm(tmp_path / "corner.osm", nodes, ways), mode=mode)
        pbf = graph_from_osm(write_osm(tmp_path / "corner.osm.pbf", nodes, ways), mode=mode)
        assert set(xml.nodes) <= set(pbf.nodes) and pbf.number_of_nodes() > 200
        total = sum(length for *_, length in xml.edges(data="length"))
        assert total == pytest.approx(sum(length for *_, length in pbf.edges(data="length")), rel=1e-9)
        (tmp_path / "corner.osm").unlink()
        (tmp_path / "corner.osm.pbf").unlink()


@pytest.mark.data
def test_camden_graph_lengths_against_pyproj(osm_dir, camden_walk):
    """The Camden walk graph: sane size, and edge lengths equal to the pyproj-projected file positions."""
    import osmium
    from pyproj import Transformer

    graph = camden_walk
    assert 20_000 < graph.number_of_nodes() < 209_784  # the file's node count (data README)
    edges = list(graph.edges(data="length"))
    rng = np.random.default_rng(7)
    sample = [edges[i] for i in rng.choice(len(edges), size=200, replace=False)]
    wanted = {n for u, v, _ in sample for n in (u, v)}
    lonlat = {
        obj.id: (obj.location.lon, obj.location.lat)
        for obj in osmium.FileProcessor(str(osm_dir / "camden.osm.pbf"), osmium.osm.NODE)
        if obj.id in wanted
    }
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    for u, v, length in sample:
        (xu, yu), (xv, yv) = to_bng.transform(*lonlat[u]), to_bng.transform(*lonlat[v])
        assert length == pytest.approx(np.hypot(xu - xv, yu - yv), rel=1e-12)
        assert 0 < length < 2_000
    x, y = to_bng.transform([-0.264, -0.045], [51.477, 51.604])  # the extract's node extent (data README)
    xs = np.array([d["x"] for _, d in graph.nodes(data=True)])
    ys = np.array([d["y"] for _, d in graph.nodes(data=True)])
    assert xs.min() >= x[0] - 1 and xs.max() <= x[1] + 1 and ys.min() >= y[0] - 1 and ys.max() <= y[1] + 1


def test_snap_limit_flags_points_and_warns_about_counters(caplog):
    """Points more than max_snap_m from a node are off-network; a far counter is warned about but still used."""
    engine = StreetNetwork(tiny_graph(), max_snap_m=500)
    origins = points(["at", "over"], [(0, 500), (0, 500.5)])  # 500 m and 500.5 m north of node A
    with caplog.at_level("WARNING", logger="planner.travel.network"):
        table = engine.nearest(origins, counters(["far"], [(1600, -600)])).table.set_index("point_id")
    assert table.loc["at", "status"] == "ok" and table.loc["over", "status"] == "off-network"
    # 500 m walked to A, 1600 m along the street to C, 600 m walked to the counter: 2700 m at 80 m a minute
    assert table.loc["at", "minutes"] == pytest.approx(2700 / 80)
    assert table.loc["at", "snap_m"] == pytest.approx(500.0)
    assert "counters far from the network (> 500 m): ['far']" in caplog.text


@pytest.mark.data
def test_network_engine_on_camden_counters(osm_dir, london, camden_walk):
    engine = StreetNetwork(camden_walk)
    camden = london.study_demand.points.query("borough_name == 'Camden'")
    open_ = select_counters(london.stations, "ids=kentish-town,holborn")
    result = engine.nearest(camden, open_)
    table = result.table
    assert result.unreachable == 0
    assert (table["minutes"] > 0).all() and (table["minutes"] < 90).all()
    matrix = engine.matrix(camden, open_)
    assert np.allclose(matrix.minutes.min(axis=1), table["minutes"])
    # drive is quicker than walking for the same trips
    drive = StreetNetwork(graph_from_osm(osm_dir / "camden.osm.pbf", mode="drive"), mode="drive")
    assert drive.nearest(camden, open_).table["minutes"].median() < table["minutes"].median()


@pytest.mark.data
def test_transit_overrides_move_times_the_right_way(transit_engine, london):
    demand = london.study_demand.points
    open_ = select_counters(london.stations, "status_final_nov2017=retain,new")
    base = transit_engine.nearest(demand, open_).table["minutes"].to_numpy()
    slow_bus = transit_engine.with_params(bus_speed_kmh=12.0).nearest(demand, open_).table["minutes"].to_numpy()
    fast_walk = transit_engine.with_params(walk_speed_kmh=6.0).nearest(demand, open_).table["minutes"].to_numpy()
    assert (slow_bus >= base - 1e-9).all() and slow_bus.mean() > base.mean()
    assert (fast_walk <= base + 1e-9).all() and fast_walk.mean() < base.mean()
    with pytest.raises(EngineError, match="unknown transit parameter"):
        transit_engine.with_params(tram_speed=3)


@pytest.mark.data
def test_london_wide_transit_is_plausible(transit_engine, london):
    open_ = select_counters(london.stations, "in_73_baseline=yes")
    result = assess(london.study_demand, open_, transit_engine, threshold=45)
    pts = result.points
    assert pts["reachable"].all()
    assert (pts["minutes"] > 0).all() and np.isfinite(pts["minutes"]).all()
    assert result.london.loc[0, "population"] == london.study_demand.total
    assert 0 < result.london.loc[0, "mean_minutes"] < 45
    inner = {"Camden", "Islington", "Westminster", "Hackney", "Kensington and Chelsea", "Lambeth"}
    outer = {"Bromley", "Havering", "Hillingdon", "Croydon", "Enfield", "Barnet"}
    b = result.boroughs.set_index("borough_name")["mean_minutes"]
    assert b[list(inner)].max() < b[list(outer)].min()
    assert len(result.wards) == 629
    closing = assess(
        london.study_demand,
        select_counters(london.stations, "status_final_nov2017=retain,new"),
        transit_engine,
    )
    assert closing.london.loc[0, "beyond"] >= result.london.loc[0, "beyond"]


@pytest.mark.data
def test_downloaded_graph_is_cached(wood_green_walk, tmp_path):
    """A graph downloaded for a polygon is cached; the second call reads the cache (no network needed)."""
    import osmnx as ox
    import shapely

    from planner.travel.network import download_cache_path

    polygon = shapely.box(-0.1585, 51.5978, -0.0949, 51.6316)
    graph = wood_green_walk
    ox.save_graphml(graph, download_cache_path(polygon, "walk", tmp_path))
    cached = graph_from_osm(polygon=polygon, mode="walk", cache_dir=tmp_path)
    assert cached.number_of_nodes() == graph.number_of_nodes()
    # the cached graph is measured the same way (planar EPSG:27700 lengths of its projected geometry)
    assert sorted(d for *_, d in cached.edges(data="length")) == pytest.approx(
        sorted(d for *_, d in graph.edges(data="length")), rel=1e-12
    )
    assert StreetNetwork(cached).csgraph.nnz == StreetNetwork(graph).csgraph.nnz


def test_nearest_counter_by_hand():
    """A--B--C (4, 6 minutes) reversed; counters x at A (walk 1) and y at C (walk 0.5)."""
    import scipy.sparse as sp

    from planner.travel.network import nearest_counter

    forward = sp.csr_array(([4.0, 4.0, 6.0, 6.0], ([0, 1, 1, 2], [1, 0, 2, 1])), shape=(3, 3))
    minutes, which = nearest_counter(sp.csr_array(forward.T), np.array([0, 2]), np.array([1.0, 0.5]))
    assert minutes.tolist() == [1.0, 5.0, 0.5]  # B: 4 + 1 to x beats 6 + 0.5 to y
    assert which.tolist() == [0, 0, 1]


def test_flagged_origins_reach_nothing_in_the_matrix():
    from planner.travel import TravelMatrix

    m = TravelMatrix(
        np.array([[5.0, 7.0], [3.0, 4.0]]),
        np.array(["p", "q"], dtype=object),
        np.array(["a", "b"], dtype=object),
        np.array(["", "off-network"], dtype=object),
    )
    assert m.minutes[0].tolist() == [5.0, 7.0] and np.isinf(m.minutes[1]).all()
    assert m.nearest().table["status"].tolist() == ["ok", "off-network"]


@pytest.mark.data
def test_off_network_residents_count_the_same_everywhere(camden_walk, london):
    """Issue 11.4: assess, the sweep's evaluator and closures, and the optimiser agree on off-network points."""
    from planner.context import counter_boroughs
    from planner.optimise import choose_counters
    from planner.sweep import Evaluator, closure_index

    engine = StreetNetwork(camden_walk)
    both = london.study_demand.in_boroughs(["Camden", "Islington"])
    flags = engine.matrix(both.points, select_counters(london.stations, "ids=holborn")).origin_flags
    far = both.points.loc[flags == "off-network", "point_id"].head(5).tolist()
    assert len(far) == 5
    demand = Demand(
        both.points.loc[both.points["borough_name"].eq("Camden") | both.points["point_id"].isin(far)].reset_index(
            drop=True
        ),
        both.wards,
        both.year,
    )
    counters = select_counters(london.stations, "ids=kentish-town,holborn,islington,holloway")
    result = assess(demand, counters, engine, threshold=45)
    lon = result.london.iloc[0]
    off = result.points["status"].eq("off-network")
    assert off.sum() == 5 and int(lon["unreachable"]) == int(result.points.loc[off, "population"].sum()) > 0

    matrix = engine.matrix(demand.points, counters)
    ev = Evaluator.from_demand(matrix, demand.points)
    plan = np.ones(len(counters), dtype=bool)
    swept = ev.figures(plan[None, :], 45).iloc[0]
    for col in ("beyond", "unreachable", "beyond_65_plus"):
        assert swept[col] == lon[col], col
    assert swept["mean_minutes"] == pytest.approx(lon["mean_minutes"], rel=1e-12)
    assert swept["p95_minutes"] == lon["p95_minutes"]
    # closing Holborn: the sweep's closure model against assess without it
    closed, _ = ev.nearest_open(plan, closed=1).figures(closure_index(ev, [("holborn",)]), 45)
    without = assess(demand, counters.query("station_id != 'holborn'"), engine, threshold=45).london.iloc[0]
    assert (closed["beyond"].iloc[0], closed["unreachable"].iloc[0]) == (without["beyond"], without["unreachable"])

    borough = counter_boroughs(counters, london.wards)
    borough.index = counters["station_id"].to_numpy()
    best = choose_counters(matrix, demand.points, borough, threshold=45, k=len(counters), boroughs=[])
    assert best.population - best.covered == lon["beyond"]


@pytest.mark.data
def test_partial_extract_is_refused(camden_walk, london):
    """Issue 11.7: residents off the extract are an error that says so, not a low coverage figure."""
    engine = StreetNetwork(camden_walk)
    demand = london.study_demand.in_boroughs(["Camden", "Islington"])  # a third of them are off the extract
    counters = select_counters(london.stations, "ids=kentish-town,holborn")
    words = r"33\.\d% of the study area's residents .* restrict the demand to the extract's boroughs"
    with pytest.raises(EngineError, match=words):
        assess(demand, counters, engine)
    camden = assess(london.study_demand.in_boroughs(["Camden"]), counters, engine)  # the whole extract is fine
    assert camden.london.iloc[0]["unreachable"] == 0


def test_unreachable_percentile_is_printed_as_such():
    from planner.cli.common import minutes_text

    assert (minutes_text(float("inf")), minutes_text(float("nan")), minutes_text(12.345)) == (
        "unreachable",
        "unreachable",
        "12.3",
    )


@pytest.mark.data
def test_osm_xml_graph_does_not_depend_on_the_hash_seed(osm_dir, wood_green_walk):
    """Issue 11.10: the same .osm file gives the same walk graph whatever PYTHONHASHSEED is: read in another
    process with another seed, it is this process's graph, edge for edge."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    code = (
        "import sys\n"
        "from planner.travel.network import graph_from_osm\n"
        "from tests.test_travel import _graph_digest\n"
        "print(hash('planner'))\n"
        "print(_graph_digest(graph_from_osm(sys.argv[1], mode='walk')))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONHASHSEED": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code, str(osm_dir / "wood_green.osm")], capture_output=True, text=True, env=env, cwd=REPO
    )
    assert done.returncode == 0, done.stderr
    seed, digest = done.stdout.splitlines()
    assert int(seed) != hash("planner"), "the other process would share this one's hash seed"
    assert digest == _graph_digest(wood_green_walk)


def test_nearest_among_a_kept_graph_equals_a_graph_of_the_plan(london, transit_engine):
    """Searching among a plan's counters on the graph of every counter gives the plan's own answers."""
    from planner.stations import select_counters

    points = london.study_demand.points
    everyone = london.stations[["station_id", "geometry"]]
    for plan in ("in_73_baseline=yes", "status_final_nov2017=retain,new"):
        counters = select_counters(london.stations, plan)[["station_id", "geometry"]]
        own = transit_engine.nearest(points, counters).table
        among = transit_engine.nearest(points, everyone, among=counters["station_id"].tolist()).table
        pd.testing.assert_frame_equal(own, among)
    kept = transit_engine.__dict__["_graph_kept"]
    transit_engine.nearest(points, everyone, among=["brixton"])
    assert transit_engine.__dict__["_graph_kept"] is kept  # the same points: the graph is not built again
    with pytest.raises(EngineError, match="no destinations"):
        transit_engine.nearest(points, everyone, among=["nowhere"])
