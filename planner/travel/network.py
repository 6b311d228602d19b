"""Street-network travel times on an OpenStreetMap graph.

The graph is built with OSMnx from ``.osm`` XML, or with pyosmium from
``.osm.pbf`` (OSMnx reads XML only), or downloaded with OSMnx for a polygon
when online.  It is projected to British National Grid and every edge is
measured there (planar metres, whichever reader built it); it is given travel
times per edge and turned into a :mod:`scipy.sparse.csgraph` matrix so that
nearest-counter times come from one multi-source Dijkstra search.
"""

from __future__ import annotations

import itertools
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import networkx as nx
import numpy as np
import scipy.sparse as sp
import shapely
from pyproj import Transformer
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from planner.config import BNG
from planner.errors import EngineError
from planner.travel.base import NearestResult, TravelEngine, TravelMatrix, _ids, among_destinations, points_xy

__all__ = [
    "Mode",
    "StreetNetwork",
    "download_cache_path",
    "graph_from_osm",
    "nearest_counter",
    "nearest_source",
    "planar_lengths",
]

logger = logging.getLogger(__name__)

Mode = Literal["walk", "bike", "drive"]

#: Highway values each mode may not use.  Walking and cycling may use trunk
#: roads: in London they have pavements and cycle lanes.
_NEVER = {"bus_guideway", "busway", "raceway", "construction", "proposed", "abandoned", "escape", "corridor"}
_EXCLUDE: dict[str, set[str]] = {
    "walk": _NEVER | {"motorway", "motorway_link"},
    "bike": _NEVER | {"motorway", "motorway_link", "steps"},
}
_DRIVE = {
    "motorway",
    "motorway_link",
    "trunk",
    "trunk_link",
    "primary",
    "primary_link",
    "secondary",
    "secondary_link",
    "tertiary",
    "tertiary_link",
    "unclassified",
    "residential",
    "living_street",
    "road",
    "service",
}
_NO_ACCESS = {"no", "private"}


#: The ``oneway`` values OSMnx reads as one-way, and those that run against the way's node order.  The PBF reader
#: uses the same rules (and OSMnx's: a roundabout is one-way) so that both readers build the same graph.
_ONEWAY = {"yes", "true", "1", "-1", "reverse", "T", "F"}
_REVERSED = {"-1", "reverse", "T"}


def _usable(highway: object, access: object, mode: str, area: object = None) -> bool:
    hw = highway[0] if isinstance(highway, list) else highway
    acc = access[0] if isinstance(access, list) else access
    if acc in _NO_ACCESS or area == "yes":
        return False
    if mode == "drive":
        return hw in _DRIVE
    return hw not in _EXCLUDE[mode]


def _direction(oneway: str | None, junction: str | None, mode: str) -> tuple[bool, bool]:
    """Whether a way is one-way for ``mode``, and whether it runs against its node order."""
    if mode != "drive":
        return False, False
    one = oneway in _ONEWAY or junction == "roundabout"
    return one, one and oneway in _REVERSED


def planar_lengths(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """Set every edge's ``length`` to its planar length in metres in the graph's projected CRS.

    The length of an edge is the length of its projected ``geometry`` (the sum of its straight
    segments), or the straight line between its two nodes when it has no geometry.  Every reader
    measures its graph this way, so ``.osm``, ``.osm.pbf`` and downloaded graphs agree.

    Parameters
    ----------
    graph
        A graph projected to EPSG:27700 (node ``x`` and ``y`` in metres); changed in place.

    Returns
    -------
    networkx.MultiDiGraph
        The same graph.
    """
    edges = list(graph.edges(data=True))
    if not edges:
        return graph
    x = nx.get_node_attributes(graph, "x")
    y = nx.get_node_attributes(graph, "y")
    dx = np.fromiter((x[u] - x[v] for u, v, _ in edges), dtype=float, count=len(edges))
    dy = np.fromiter((y[u] - y[v] for u, v, _ in edges), dtype=float, count=len(edges))
    length = np.hypot(dx, dy)
    curved = [i for i, (_, _, d) in enumerate(edges) if d.get("geometry") is not None]
    if curved:
        length[curved] = shapely.length(np.array([edges[i][2]["geometry"] for i in curved], dtype=object))
    for (_, _, d), metres in zip(edges, length.tolist(), strict=True):
        d["length"] = metres
    return graph


def _way_refs(way: object, coords: dict[int, tuple[float, float]]) -> list[int]:
    """The way's node ids with a location, recording each node's longitude and latitude."""
    refs = []
    for node in way.nodes:  # type: ignore[attr-defined]
        if node.location.valid():
            refs.append(node.ref)
            coords[node.ref] = (node.lon, node.lat)
    return refs


def _read_pbf(path: Path, mode: str) -> tuple[list[tuple[int, int, dict]], dict[int, tuple[float, float]]]:
    """The usable ways' node-to-node segments (in the direction of travel) and the nodes' WGS84 positions."""
    import osmium

    processor = (
        osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        .with_filter(osmium.filter.KeyFilter("highway"))
    )
    segments: list[tuple[int, int, dict]] = []
    coords: dict[int, tuple[float, float]] = {}
    for way in processor:
        tags = way.tags
        if not _usable(tags.get("highway"), tags.get("access"), mode, tags.get("area")):
            continue
        refs = _way_refs(way, coords)
        oneway, backwards = _direction(tags.get("oneway"), tags.get("junction"), mode)
        attrs = {"osmid": way.id, "highway": tags.get("highway"), "oneway": oneway}
        if tags.get("maxspeed") is not None:
            attrs["maxspeed"] = tags.get("maxspeed")
        segments.extend((a, b, attrs) for a, b in itertools.pairwise(refs[::-1] if backwards else refs))
    return segments, coords


def _graph_from_pbf(path: Path, mode: str) -> nx.MultiDiGraph:
    """Read highway ways from a PBF with pyosmium into an OSMnx-style graph (one edge per segment)."""
    segments, coords = _read_pbf(path, mode)
    if not segments:
        raise EngineError(f"{path}: no {mode} ways found")
    lonlat = np.array(list(coords.values()))
    x, y = Transformer.from_crs("EPSG:4326", BNG, always_xy=True).transform(lonlat[:, 0], lonlat[:, 1])
    graph = nx.MultiDiGraph(crs=BNG)
    graph.add_nodes_from((n, {"x": xi, "y": yi}) for n, xi, yi in zip(coords, x.tolist(), y.tolist(), strict=True))
    for a, b, attrs in segments:
        graph.add_edge(a, b, **attrs)
        if not attrs["oneway"]:
            graph.add_edge(b, a, **attrs)
    return graph


def _graph_from_xml(path: Path, mode: str) -> nx.MultiDiGraph:
    """Read an ``.osm`` XML file with OSMnx, keep the usable ways, simplify and project it."""
    import osmnx as ox

    # Filter the ways before simplifying: simplification merges ways into edges whose differing
    # tags become lists in hash order, so a filter after it would depend on PYTHONHASHSEED.
    raw = ox.graph_from_xml(path, bidirectional=mode != "drive", simplify=False, retain_all=True)
    drop = [
        (u, v, k)
        for u, v, k, d in raw.edges(keys=True, data=True)
        if not _usable(d.get("highway"), d.get("access"), mode, d.get("area"))
    ]
    raw.remove_edges_from(drop)
    raw.remove_nodes_from([n for n, deg in raw.degree() if deg == 0])
    return ox.project_graph(ox.simplify_graph(raw), to_crs=BNG)


def graph_from_osm(
    source: str | os.PathLike[str] | None = None,
    *,
    mode: Mode = "walk",
    polygon: object | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> nx.MultiDiGraph:
    """Build a projected street graph for one mode.

    Parameters
    ----------
    source
        ``.osm`` XML (read by OSMnx) or ``.osm.pbf`` (read by pyosmium).
    mode
        ``"walk"``, ``"bike"`` or ``"drive"``.
    polygon
        Instead of a file, download the network inside this shapely polygon
        (WGS84) with OSMnx; needs internet.  Cached in ``cache_dir``.
    cache_dir
        Where downloaded graphs are cached as GraphML.

    Returns
    -------
    networkx.MultiDiGraph
        The largest weakly connected component, in EPSG:27700, with
        ``length`` on every edge: planar metres in EPSG:27700 (see :func:`planar_lengths`).
    """
    if mode not in ("walk", "bike", "drive"):
        raise EngineError(f"Unknown mode {mode!r}; choose walk, bike or drive.")
    if source is None:
        if polygon is None:
            raise EngineError("Give an OSM file or a polygon to download.")
        return planar_lengths(_download(polygon, mode, cache_dir))
    path = Path(source)
    if not path.is_file():
        raise EngineError(f"OSM file {path} does not exist.")
    if path.name.endswith(".pbf"):
        graph = _graph_from_pbf(path, mode)
    elif path.suffix in {".osm", ".xml"}:
        graph = _graph_from_xml(path, mode)
    else:
        raise EngineError(f"{path}: expected a .osm or .osm.pbf file.")
    graph.remove_nodes_from([n for n, deg in graph.degree() if deg == 0])
    if graph.number_of_nodes() == 0:
        raise EngineError(f"{path}: no usable {mode} network")
    largest = max(nx.weakly_connected_components(graph), key=len)
    dropped = graph.number_of_nodes() - len(largest)
    if dropped:
        logger.info("%s: kept the largest connected component (%d nodes dropped)", path, dropped)
    return planar_lengths(graph.subgraph(largest).copy())


def download_cache_path(polygon: object, mode: str, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where :func:`graph_from_osm` caches the graph downloaded for ``polygon`` and ``mode``.

    Parameters
    ----------
    polygon
        The area downloaded (a shapely polygon).
    mode
        ``walk``, ``bike`` or ``drive``.
    cache_dir
        The cache folder (default: the user cache).
    """
    import hashlib

    key = hashlib.sha256(f"{mode}:{polygon.wkt}".encode()).hexdigest()[:16]  # type: ignore[attr-defined]
    return Path(cache_dir or Path.home() / ".cache" / "planner") / f"osm-{mode}-{key}.graphml"


def _download(polygon: object, mode: str, cache_dir: str | os.PathLike[str] | None) -> nx.MultiDiGraph:
    import osmnx as ox

    cache = download_cache_path(polygon, mode, cache_dir)
    if cache.is_file():
        logger.info("using the cached street graph %s", cache)
        return ox.load_graphml(cache)
    graph = ox.project_graph(ox.graph_from_polygon(polygon, network_type=mode), to_crs=BNG)
    cache.parent.mkdir(parents=True, exist_ok=True)
    ox.save_graphml(graph, cache)
    return graph


def nearest_source(csgraph: sp.csr_array, sources: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance from every node to its nearest source node, and which source.

    Parameters
    ----------
    csgraph
        Sparse weighted graph; distances run from the sources along edges.
    sources
        Node indices to search from.

    Returns
    -------
    distance, source
        Arrays over nodes; ``inf`` and ``-9999`` where no source is reachable.
    """
    dist, _, src = dijkstra(csgraph, directed=True, indices=sources, min_only=True, return_predecessors=True)
    return dist, src


def with_entries(csgraph: sp.csr_array, nodes: np.ndarray, minutes: np.ndarray) -> sp.csr_array:
    """``csgraph`` with one extra node per entry, joined by one edge of ``minutes`` to ``nodes``.

    The extra rows are appended to the CSR arrays as they are (no COO round trip, no sorting),
    so building it costs one copy of the graph's arrays.
    """
    n = csgraph.shape[0]
    d = len(nodes)
    indptr = np.concatenate([csgraph.indptr, csgraph.indptr[-1] + np.arange(1, d + 1, dtype=csgraph.indptr.dtype)])
    indices = np.concatenate([csgraph.indices, np.asarray(nodes, dtype=csgraph.indices.dtype)])
    data = np.concatenate([csgraph.data, np.maximum(np.asarray(minutes, dtype=float), 1e-9)])
    return sp.csr_array((data, indices, indptr), shape=(n + d, n + d))


def nearest_counter(reverse: sp.csr_array, nodes: np.ndarray, minutes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minutes from every node to its nearest counter, and which counter, in one Dijkstra search.

    Each counter becomes an extra node joined to its network node by its walk from the network
    (``minutes``), and one multi-source search runs from all of them at once over the reversed graph,
    so the time to a counter includes its walk and ties go to the same counter as a full matrix.

    Parameters
    ----------
    reverse
        The street graph with its edges reversed (distances run from counters to people).
    nodes
        Network node of each counter.
    minutes
        Each counter's walk to or from its node.

    Returns
    -------
    minutes, counter
        Arrays over the graph's nodes: minutes (``inf`` where no counter is reachable) and the
        counter's position in ``nodes`` (``-1`` where none).
    """
    n = reverse.shape[0]
    graph = with_entries(reverse, nodes, minutes)
    dist, src = nearest_source(graph, n + np.arange(len(nodes)))
    return dist[:n], np.where(src[:n] >= 0, src[:n] - n, -1)


@dataclass
class StreetNetwork(TravelEngine):
    """Travel times over a street network.

    Parameters
    ----------
    graph
        Projected graph from :func:`graph_from_osm`.
    mode
        ``"walk"``, ``"bike"`` or ``"drive"``.
    walk_speed_kmh
        Walking speed, used for walk mode and for the legs between a point
        and its nearest network node in every mode; 4.8 km/h is a typical
        adult pace (slower walkers: about 3.5).
    bike_speed_kmh
        Cycling speed for bike mode.
    max_snap_m
        Points farther than this from the network are flagged
        ``"off-network"`` and treated as unreachable.
    """

    graph: nx.MultiDiGraph
    mode: Mode = "walk"
    walk_speed_kmh: float = 4.8
    bike_speed_kmh: float = 15.0
    max_snap_m: float = 500.0
    source: str | None = field(default=None, compare=False)
    name = "network"
    _csr: sp.csr_array = field(init=False, repr=False)
    _rev: sp.csr_array = field(init=False, repr=False)
    _xy: np.ndarray = field(init=False, repr=False)
    _tree: cKDTree = field(init=False, repr=False)

    def __post_init__(self) -> None:
        crs = self.graph.graph.get("crs")
        if crs is None or "27700" not in str(crs):
            raise EngineError(f"street graph must be projected to {BNG} (its crs is {crs!r})")
        if self.walk_speed_kmh <= 0 or self.bike_speed_kmh <= 0:
            raise EngineError("speeds must be positive")
        nodes = list(self.graph.nodes)
        index = {n: i for i, n in enumerate(nodes)}
        self._xy = np.array([(self.graph.nodes[n]["x"], self.graph.nodes[n]["y"]) for n in nodes])
        self._tree = cKDTree(self._xy)
        minutes = self._edge_minutes()
        u = np.fromiter((index[a] for a, _b in minutes), dtype=np.int64, count=len(minutes))
        v = np.fromiter((index[b] for _a, b in minutes), dtype=np.int64, count=len(minutes))
        w = np.fromiter(minutes.values(), dtype=float, count=len(minutes))
        # a zero weight would be read as "no edge" by csgraph
        self._csr = sp.csr_array((np.maximum(w, 1e-9), (u, v)), shape=(len(nodes), len(nodes)))
        self._rev = sp.csr_array(self._csr.T)

    @classmethod
    def from_osm(cls, source: str | os.PathLike[str], *, mode: Mode = "walk", **params: float) -> StreetNetwork:
        """Build the engine from an OSM file (see :func:`graph_from_osm`)."""
        return cls(graph_from_osm(source, mode=mode), mode=mode, source=os.fspath(source), **params)

    def _edge_minutes(self) -> dict[tuple[object, object], float]:
        """Minimum minutes over parallel edges for every (u, v)."""
        if self.mode == "drive":
            import osmnx as ox

            graph = ox.add_edge_travel_times(ox.add_edge_speeds(self.graph))
            items = ((u, v, d["travel_time"] / 60) for u, v, d in graph.edges(data=True))
        else:
            speed = (self.walk_speed_kmh if self.mode == "walk" else self.bike_speed_kmh) * 1000 / 60
            items = ((u, v, d["length"] / speed) for u, v, d in self.graph.edges(data=True))
        best: dict[tuple[object, object], float] = {}
        for u, v, t in items:
            if t < best.get((u, v), np.inf):
                best[(u, v)] = t
        return best

    @property
    def csgraph(self) -> sp.csr_array:
        """Edge minutes as a sparse matrix over node positions."""
        return self._csr

    def snap(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest node position and snap distance (m) for each point."""
        dist, node = self._tree.query(xy)
        return node, dist

    def _walk_minutes(self, metres: np.ndarray) -> np.ndarray:
        return metres / (self.walk_speed_kmh * 1000 / 60)

    def _augmented(self, dest_xy: np.ndarray) -> tuple[sp.csr_array, np.ndarray, np.ndarray]:
        """The reversed graph with one extra node per destination linked to its snap node."""
        node, dist = self.snap(dest_xy)
        n = self._csr.shape[0]
        return with_entries(self._rev, node, self._walk_minutes(dist)), n + np.arange(len(dest_xy)), dist

    def _origin_legs(self, origins: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        node, dist = self.snap(origins)
        flags = np.where(dist > self.max_snap_m, "off-network", "").astype(object)
        if (flags != "").any():
            logger.warning("%d point(s) are more than %.0f m from the network", (flags != "").sum(), self.max_snap_m)
        return node, self._walk_minutes(dist), flags, dist

    def _check_destinations(self, dest_xy: np.ndarray, d_ids: np.ndarray) -> None:
        _, dist = self.snap(dest_xy)
        far = dist > self.max_snap_m
        if far.any():
            logger.warning("counters far from the network (> %.0f m): %s", self.max_snap_m, list(d_ids[far]))

    def _matrix(self, origins: np.ndarray, destinations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        graph, extra, _ = self._augmented(destinations)
        dist = dijkstra(graph, directed=True, indices=extra)
        node, leg, flags, _ = self._origin_legs(origins)
        return dist[:, node].T + leg[:, None], flags

    def nearest(self, origins, destinations, *, k: int = 1, among=None) -> NearestResult:  # type: ignore[override]
        """Nearest counter by one multi-source search (``k`` > 1 uses the full matrix; ``among`` as for
        :meth:`TravelEngine.nearest <planner.travel.base.TravelEngine.nearest>`)."""
        destinations = among_destinations(destinations, among)
        if k > 1:
            return super().nearest(origins, destinations, k=k)
        o_ids = _ids(origins, "point_id", "origins")
        d_ids = _ids(destinations, "station_id", "destinations")
        dest_xy = points_xy(destinations, "destinations")
        self._check_destinations(dest_xy, d_ids)
        dest_node, dest_m = self.snap(dest_xy)
        dist, which = nearest_counter(self._rev, dest_node, self._walk_minutes(dest_m))
        node, leg, flags, snap_m = self._origin_legs(points_xy(origins, "origins"))
        minutes = dist[node] + leg
        station = np.where(which[node] >= 0, d_ids[which[node]], None)
        return NearestResult.build(o_ids, minutes[:, None], station[:, None], flags, snap_m)

    def matrix(self, origins, destinations) -> TravelMatrix:  # type: ignore[override]
        d_ids = _ids(destinations, "station_id", "destinations")
        self._check_destinations(points_xy(destinations, "destinations"), d_ids)
        result = super().matrix(origins, destinations)
        _, snap_m = self.snap(points_xy(origins, "origins"))
        return TravelMatrix(result.minutes, result.origin_ids, result.destination_ids, result.origin_flags, snap_m)

    def input_files(self) -> tuple[Path, ...]:
        """The OSM extract the graph was read from (none for a graph given as it is)."""
        return (Path(self.source),) if self.source else ()

    def describe(self) -> dict:
        return {
            "engine": self.name,
            "mode": self.mode,
            "walk_speed_kmh": self.walk_speed_kmh,
            "bike_speed_kmh": self.bike_speed_kmh,
            "max_snap_m": self.max_snap_m,
            "nodes": self.graph.number_of_nodes(),
            "edges": self.graph.number_of_edges(),
        }
