"""Invented data directories, laid out like the real one, for tests that need no mirror: the one builder.

Two directories: :func:`write_synthetic_data` (six wards in two boroughs, with transit, postcodes and
streets; below) and :func:`write_tiny_data` (three wards of one borough, what the refusal catalogue of
``tests/test_refusals.py`` spoils one file at a time).  Both write their ward files with
:func:`write_ward_zip`.

Everything here is made up: the codes (``X05...`` wards, ``X09...`` boroughs, ``X01...`` LSOAs, postcodes
in the unused ``ZZ`` area), the names and the coordinates.  Nothing is read from or copied out of the
real data.  :func:`write_synthetic_data` writes the files in the formats planner's loaders read
(``planner.config.DataPaths``): zipped ward shapefiles, a borough GeoPackage, LSOA centroids in WGS84
and their population, the counter table, a rail graph in GraphML with tube link times, TfL-style bus
sequences and stops, Code-Point-style postcodes and a small ``.osm`` street grid.

The layout, in British National Grid metres (each ward a 1-km square, x from 530,000, y from 180,000)::

    y 182000 +-----------+-----------+-----------+
             | Bram West | Bram Cent | Bram East |   borough X09000002 "Bramley Vale"
             | X05000004 | X05000005 | X05000006 |   rail: Alpha Road - Central Halt - Beta Junction
             |    (R)    | [bc] (R)  |    (R)    |         (the three centres of this row)
    y 181000 +-----------+-----------+-----------+
             | Ash West  | Ash Cent  | Ash East  |   borough X09000001 "Ashbury"
             | X05000001 | X05000002 | X05000003 |   bus route 7: the three centres of this row
             | [aw]  (B) |    (B)    | [ae]  (B) |
    y 180000 +-----------+-----------+-----------+
           x 530000    531000      532000      533000

One LSOA per ward, its population-weighted centroid at the ward's centre.  Counters ``ash-west``
[aw] (24/7), ``ash-east`` [ae] (daytime; closes in the final plan) and ``bram-central`` [bc] (24/7)
stand at ward centres.  The street grid joins the six centres along both rows and the three columns.
"""

from __future__ import annotations

import csv
import gzip
import itertools
import struct
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import networkx as nx
import pandas as pd
import pyogrio
import shapely
from pyproj import Transformer

__all__ = [
    "BASE_SCENARIO",
    "BOROUGHS",
    "COUNTERS",
    "FINAL_SCENARIO",
    "LSOAS",
    "POSTCODES",
    "TINY_SCENARIO",
    "WARDS",
    "WARD_LAYOUTS",
    "centre",
    "edit_csv",
    "tiny_ward_frame",
    "write_scenarios",
    "write_stations",
    "write_synthetic_data",
    "write_tiny_data",
    "write_ward_zip",
]

X0, Y0, SIZE = 530_000.0, 180_000.0, 1000.0

#: borough code -> name
BOROUGHS = {"X09000001": "Ashbury", "X09000002": "Bramley Vale"}

#: ward code, name, borough code, column, row
WARDS = [
    ("X05000001", "Ash West", "X09000001", 0, 0),
    ("X05000002", "Ash Central", "X09000001", 1, 0),
    ("X05000003", "Ash East", "X09000001", 2, 0),
    ("X05000004", "Bram West", "X09000002", 0, 1),
    ("X05000005", "Bram Central", "X09000002", 1, 1),
    ("X05000006", "Bram East", "X09000002", 2, 1),
]

#: LSOA code, ward code, residents (all ages), residents aged 65+
LSOAS = [
    ("X01000001", "X05000001", 1000, 100),
    ("X01000002", "X05000002", 2000, 200),
    ("X01000003", "X05000003", 1500, 300),
    ("X01000004", "X05000004", 1200, 120),
    ("X01000005", "X05000005", 3000, 300),
    ("X01000006", "X05000006", 800, 160),
]

#: id, name, borough name, ward code it stands in, hours, draft status, final status, daily crimes
COUNTERS = [
    ("ash-west", "Ash West Police Station", "Ashbury", "X05000001", "24/7", "retain", "retain", "3.5"),
    ("ash-east", "Ash East Police Station", "Ashbury", "X05000003", "Mon-Fri 9am-5pm", "close", "close", "2.5"),
    ("bram-central", "Bramley Vale Police Station", "Bramley Vale", "X05000005", "24/7", "retain", "retain", ""),
]

#: postcode, ward code it lies in, offset (m) east and north of the ward centre
POSTCODES = [
    ("ZZ1 1AA", "X05000001", 100.0, 100.0),
    ("ZZ1 2AB", "X05000003", -100.0, 0.0),
    ("ZZ2 1AA", "X05000005", 0.0, -150.0),
    ("ZZ2 3CD", "X05000006", 200.0, 200.0),
]

_TO_WGS84 = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
_STAMP = (2026, 1, 1, 0, 0, 0)  # fixed zip entry times


def centre(ward_code: str) -> tuple[float, float]:
    """The centre of a synthetic ward (its LSOA centroid), in EPSG:27700."""
    col, row = next((c, r) for code, _n, _b, c, r in WARDS if code == ward_code)
    return X0 + SIZE * (col + 0.5), Y0 + SIZE * (row + 0.5)


def _wgs84(x: float, y: float) -> tuple[float, float]:
    lon, lat = _TO_WGS84.transform(x, y)
    return float(lon), float(lat)


def _ward_frame(columns: dict[str, str]) -> gpd.GeoDataFrame:
    rows = []
    for code, name, borough, col, row in WARDS:
        rows.append(
            {
                columns["code"]: code,
                columns["name"]: name,
                columns["borough_code"]: borough,
                columns["borough_name"]: BOROUGHS[borough],
                "geometry": shapely.box(X0 + SIZE * col, Y0 + SIZE * row, X0 + SIZE * (col + 1), Y0 + SIZE * (row + 1)),
            }
        )
    return gpd.GeoDataFrame(rows, crs="EPSG:27700")


def _zip_folder(folder: Path, target: Path, prefix: str) -> None:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            info = zipfile.ZipInfo(f"{prefix}/{path.name}", date_time=_STAMP)
            archive.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)


#: The London Datastore's ward file columns, by edition.
WARD_LAYOUTS = {
    2014: {"code": "GSS_CODE", "name": "NAME", "borough_code": "LB_GSS_CD", "borough_name": "BOROUGH"},
    2018: {"code": "GSS_CODE", "name": "NAME", "borough_code": "LAGSSCODE", "borough_name": "DISTRICT"},
}


def write_ward_zip(path: Path, frame: gpd.GeoDataFrame, year: int = 2014, *, prj: bool = True) -> Path:
    """A London Datastore-style zip of ward shapefiles (``London_Ward`` and ``London_Ward_CityMerged``, the same
    wards: no City here), with fixed entry times; ``prj=False`` leaves out the projection file."""
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work) / f"London-wards-{year}_ESRI"
        folder.mkdir()
        for layer in ("London_Ward", "London_Ward_CityMerged"):
            pyogrio.write_dataframe(frame, folder / f"{layer}.shp", driver="ESRI Shapefile")
        if not prj:
            for part in folder.glob("*.prj"):
                part.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        _zip_folder(folder, path, folder.name)
    return path


def _write_wards(root: Path, work: Path) -> None:
    for year, columns in WARD_LAYOUTS.items():
        write_ward_zip(root / "boundaries" / f"London-wards-{year}.zip", _ward_frame(columns), year)


def _write_boroughs(root: Path) -> None:
    wards = _ward_frame({"code": "c", "name": "n", "borough_code": "LAD22CD", "borough_name": "LAD22NM"})
    boroughs = wards.dissolve(by=["LAD22CD", "LAD22NM"], as_index=False)[["LAD22NM", "LAD22CD", "geometry"]]
    boroughs["geometry"] = [shapely.MultiPolygon([g]) if g.geom_type == "Polygon" else g for g in boroughs.geometry]
    pyogrio.write_dataframe(boroughs, root / "boundaries" / "boroughs.gpkg", layer="boroughs", driver="GPKG")


def _write_population(root: Path) -> None:
    centroids, people = [], []
    names = {code: name for code, name, *_ in WARDS}
    for i, (lsoa, ward, total, old) in enumerate(LSOAS, start=1):
        lon, lat = _wgs84(*centre(ward))
        name = f"{names[ward]} {i:03d}A"
        centroids.append({"X": repr(lon), "Y": repr(lat), "objectid": i, "lsoa11cd": lsoa, "lsoa11nm": name})
        rest = total - old
        bands = [rest // 4 + (1 if k < rest % 4 else 0) for k in range(4)]
        people.append(
            {
                "LSOA11CD": lsoa,
                "LSOA11NM": name,
                "Persons_All-Ages": total,
                "Persons_0-15": bands[0],
                "Persons_16-29": bands[1],
                "Persons_30-44": bands[2],
                "Persons_45-64": bands[3],
                "Persons_65+": old,
            }
        )
    folder = root / "population"
    pd.DataFrame(centroids).to_csv(folder / "lsoa11_population_weighted_centroids.csv", index=False)
    for year in (2019, 2020):
        pd.DataFrame(people).to_csv(folder / f"lsoa11_mid{year}_population.csv", index=False)


def _write_counters(root: Path) -> None:
    rows = []
    for sid, name, borough, ward, hours, draft, final, crimes in COUNTERS:
        x, y = centre(ward)
        lon, lat = _wgs84(x, y)
        rows.append(
            {
                "id": sid,
                "name": name,
                "borough": borough,
                "address": f"1 {name.split(' Police')[0]} Road",
                "postcode": "ZZ9 9ZZ",
                "lat": f"{lat:.5f}",
                "lon": f"{lon:.5f}",
                "easting": f"{x:.1f}",
                "northing": f"{y:.1f}",
                "coord_source": "invented for tests",
                "coord_accuracy_m": "0",
                "hours_2017": hours,
                "status_draft_jul2017": draft,
                "status_final_nov2017": final,
                "daily_crimes_reported_2017": crimes,
                "in_73_baseline": "yes",
            }
        )
    pd.DataFrame(rows).to_csv(root / "stations" / "front_counters_2017.csv", index=False)


#: rail stations (name, ward whose centre they stand at) along one line, in order
RAIL = [("Alpha Road", "X05000004"), ("Central Halt", "X05000005"), ("Beta Junction", "X05000006")]
RAIL_LINE = "Synthetic Line"
#: timetable minutes of the first link (Alpha Road - Central Halt); the second has none (length / speed)
RAIL_TIMETABLE_MIN = 2.0
#: bus stops of route 7 (LBSL code, ward whose centre they stand at), run 1 west to east
BUS_STOPS = [("90001", "X05000001"), ("90002", "X05000002"), ("90003", "X05000003")]


def _write_transit(root: Path) -> None:
    folder = root / "transit"
    graph = nx.Graph()
    for name, ward in RAIL:
        graph.add_node(name, coords=str(centre(ward)))
    for (a, wa), (b, wb) in itertools.pairwise(RAIL):
        (xa, ya), (xb, yb) = centre(wa), centre(wb)
        graph.add_edge(a, b, length=float(((xa - xb) ** 2 + (ya - yb) ** 2) ** 0.5), line_name=RAIL_LINE, flows=0)
    nx.write_graphml(graph, folder / "rail_network.graphml")
    stations = []
    for i, (name, ward) in enumerate(RAIL, start=1):
        lon, lat = _wgs84(*centre(ward))
        stations.append(
            {
                "id": i,
                "latitude": round(lat, 4),
                "longitude": round(lon, 4),
                "name": name,
                "display_name": "NULL",
                "zone": 9,
                "total_lines": 1,
                "rail": 0,
            }
        )
    pd.DataFrame(stations).to_csv(folder / "tube_stations.csv", index=False)
    pd.DataFrame([{"station1": 1, "station2": 2, "line": 1, "time": RAIL_TIMETABLE_MIN}]).to_csv(
        folder / "tube_connections.csv", index=False
    )
    pd.DataFrame([{"line": 1, "name": RAIL_LINE, "colour": "AA00AA", "stripe": "NULL"}]).to_csv(
        folder / "tube_lines.csv", index=False
    )
    sequences, stops = [], []
    for run, order in ((1, BUS_STOPS), (2, BUS_STOPS[::-1])):
        for seq, (code, ward) in enumerate(order, start=1):
            x, y = centre(ward)
            sequences.append(
                {
                    "Route": "7",
                    "Run": run,
                    "Sequence": seq,
                    "Stop_Code_LBSL": code,
                    "Bus_Stop_Code": "5" + code,
                    "Naptan_Atco": f"4900{code}X",
                    "Stop_Name": f"STOP {code}",
                    "Location_Easting": int(x),
                    "Location_Northing": int(y),
                    "Heading": 90 if run == 1 else 270,
                    "Virtual_Bus_Stop": 0,
                }
            )
    for code, ward in BUS_STOPS:
        x, y = centre(ward)
        stops.append(
            {
                "Stop_Code_LBSL": code,
                "Bus_Stop_Code": "5" + code,
                "Naptan_Atco": f"4900{code}X",
                "Stop_Name": f"STOP {code}",
                "Location_Easting": int(x),
                "Location_Northing": int(y),
                "Heading": 90,
                "Stop_Area": "ZZ01",
                "Virtual_Bus_Stop": 0,
            }
        )
    pd.DataFrame(sequences).to_csv(folder / "bus_sequences_2016.csv", index=False)
    pd.DataFrame(stops).to_csv(folder / "bus_stops.csv", index=False)


def _write_postcodes(root: Path) -> None:
    rows = []
    lad = {code: borough for code, _n, borough, *_ in WARDS}
    for postcode, ward, dx, dy in POSTCODES:
        x, y = centre(ward)
        rows.append({"postcode": postcode, "pq": 10, "easting": int(x + dx), "northing": int(y + dy), "lad": lad[ward]})
    text = pd.DataFrame(rows).to_csv(index=False).encode()
    # mtime 0: the same bytes on every build
    with gzip.GzipFile(root / "postcodes" / "codepoint_open_2025_london.csv.gz", "wb", mtime=0) as fh:
        fh.write(text)


def _write_osm(root: Path) -> None:
    """Streets along both rows and the three columns of ward centres, with a short spur at each centre.

    The spurs keep every centre a junction, so no centre is merged away when the graph is simplified.
    """
    nodes: dict[tuple[float, float], int] = {}

    def node(x: float, y: float) -> int:
        return nodes.setdefault((x, y), len(nodes) + 1)

    ways: list[tuple[list[int], str]] = []
    for row in (0, 1):
        ways.append(([node(*centre(c)) for c, _n, _b, _c, r in WARDS if r == row], "residential"))
    for col in (0, 1, 2):
        ways.append(([node(*centre(c)) for c, _n, _b, cc, _r in WARDS if cc == col], "residential"))
    for code, *_ in WARDS:
        x, y = centre(code)
        ways.append(([node(x, y), node(x + 100.0, y + 100.0)], "footway"))
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="planner tests">']
    for (x, y), nid in sorted(nodes.items(), key=lambda item: item[1]):
        lon, lat = _wgs84(x, y)
        lines.append(f'  <node id="{nid}" version="1" lat="{lat:.9f}" lon="{lon:.9f}"/>')
    for wid, (refs, highway) in enumerate(ways, start=1):
        lines.append(f'  <way id="{wid}" version="1">')
        lines += [f'    <nd ref="{r}"/>' for r in refs]
        lines.append(f'    <tag k="highway" v="{highway}"/>')
        lines.append("  </way>")
    lines.append("</osm>")
    (root / "osm" / "synthetic.osm").write_text("\n".join(lines) + "\n", encoding="utf-8")


#: A National Rail line and a tram line, each of two stations 25 km north-east of the wards: the transit
#: engine reads them (its defaults turn both on) but no hand-solved journey of the map can use them.
FAR_X, FAR_Y = 555_000.0, 200_000.0


def _write_timetabled(root: Path) -> None:
    from tests.cif_toy import Station, Train, write_cif

    far = [
        Station("Far Halt", "FARHALT", "FAH", FAR_X, FAR_Y),
        Station("Far End", "FAREND", "FAE", FAR_X + 3000, FAR_Y),
    ]
    write_cif(
        root / "transit" / "national_rail" / "synthetic_cif.zip",
        far,
        [Train("S00001", (("FARHALT", "", "0800", True), ("FAREND", "0806", "", True)))],
    )
    from planner.travel.tram import TRAM_ROUTES

    # the stops of the documented tram routes, 300 m apart along a line near Far Halt (WGS84)
    names = sorted({n.strip("[]") for stops, _ in TRAM_ROUTES.values() for n in stops})
    ids = {n: f"T{i:02d}" for i, n in enumerate(names)}
    tram = root / "transit" / "tramlink"
    tram.mkdir(parents=True, exist_ok=True)
    rows = [f"{ids[n]},{n},{51.68 + 0.0027 * i:.5f},0.25" for i, n in enumerate(names)]
    (tram / "tram_stops.csv").write_text("id,name,lat,lon\n" + "\n".join(rows) + "\n")
    pairs = sorted(
        {
            tuple(sorted((a.strip("[]"), b.strip("[]"))))
            for st, _ in TRAM_ROUTES.values()
            for a, b in itertools.pairwise(st)
        }
    )
    links = [f"L{i},{ids[a]},{ids[b]},0.4,0.3" for i, (a, b) in enumerate(pairs)]
    (tram / "tram_links.csv").write_text("segment_id,from_id,to_id,track_km,straight_km\n" + "\n".join(links) + "\n")


def write_synthetic_data(root: str | Path) -> Path:
    """Write the synthetic data directory into ``root`` (created) and return it.

    Parameters
    ----------
    root
        An empty or missing folder.

    Returns
    -------
    Path
        ``root``, ready for ``--data`` / ``PLANNER_DATA``; the street grid is ``root/osm/synthetic.osm``.
    """
    root = Path(root)
    for sub in ("boundaries", "population", "stations", "transit", "postcodes", "osm"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        _write_wards(root, Path(work))
    _write_boroughs(root)
    _write_population(root)
    _write_counters(root)
    _write_transit(root)
    _write_timetabled(root)
    _write_postcodes(root)
    _write_osm(root)
    return root


#: Every counter open, crow-fly at 2 km/h with circuity 1.2: 36 minutes per km, so the 45-minute
#: test has something to find on a 3-km map.  One hub of three wards per borough.
BASE_SCENARIO = """\
name = "syn-base"
description = "Synthetic: every counter open"
thresholds = [45, 60]

[counters]
open = { column = "in_73_baseline", values = ["yes"] }
twenty_four_seven = { column = "hours_2017", values = ["24/7"] }

[engine]
name = "crowfly"
params = { speed_kmh = 2.0, circuity = 1.2 }

[hubs]
wards_per_hub = [3, 3]
hubs = 2
"""

#: Ash East's counter closes; closing a counter saves 250,000 a year.
FINAL_SCENARIO = (
    BASE_SCENARIO.replace('name = "syn-base"', 'name = "syn-final"')
    .replace(
        'open = { column = "in_73_baseline", values = ["yes"] }',
        'open = { column = "status_final_nov2017", values = ["retain"] }',
    )
    .replace("Synthetic: every counter open", "Synthetic: Ash East closes")
    + """
[costs]
annual_cost_per_counter = 250000
"""
)


def write_scenarios(folder: str | Path) -> tuple[Path, Path]:
    """Write the base and final synthetic scenarios into ``folder``; return their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    base, final = folder / "syn-base.toml", folder / "syn-final.toml"
    base.write_text(BASE_SCENARIO)
    final.write_text(FINAL_SCENARIO)
    return base, final


# --------------------------------------------------------------------------- the tiny data directory
# Three 1-km wards of one borough (E09000002 "Testham"), one LSOA each, three counters: the refusal
# catalogue (tests/test_refusals.py) spoils a copy of it, one file per case.
TINY_WARDS = [("E05000001", "Alpha"), ("E05000002", "Beta"), ("E05000003", "Gamma")]
TINY_BOROUGH = ("E09000002", "Testham")
TINY_X0, TINY_Y0 = 530000.0, 180000.0
TINY_LSOAS = [("E01000001", 1000), ("E01000002", 2000), ("E01000003", 3000)]
TINY_AGES = ["Persons_0-15", "Persons_16-29", "Persons_30-44", "Persons_45-64", "Persons_65+"]

TINY_SCENARIO = """name = "tiny"
thresholds = [45]

[counters]
open = { column = "status_final_nov2017", values = ["retain"] }

[engine]
name = "crowfly"

[hubs]
enabled = false
"""


def tiny_ward_frame(layout: dict[str, str]) -> gpd.GeoDataFrame:
    """The tiny directory's three wards in one borough, with the columns ``layout`` names."""
    return gpd.GeoDataFrame(
        {
            layout["code"]: [c for c, _ in TINY_WARDS],
            "NAME": [n for _, n in TINY_WARDS],
            layout["borough_code"]: TINY_BOROUGH[0],
            layout["borough_name"]: TINY_BOROUGH[1],
        },
        geometry=[
            shapely.box(TINY_X0 + 1000 * i, TINY_Y0, TINY_X0 + 1000 * (i + 1), TINY_Y0 + 1000)
            for i in range(len(TINY_WARDS))
        ],
        crs="EPSG:27700",
    )


def write_tiny_data(root: Path) -> Path:
    """Write the tiny data directory (three wards of one borough, three LSOAs, three counters) and return it."""
    for year, layout in WARD_LAYOUTS.items():
        write_ward_zip(root / "boundaries" / f"London-wards-{year}.zip", tiny_ward_frame(layout), year)
    boroughs = gpd.GeoDataFrame(
        {"LAD22CD": [TINY_BOROUGH[0]], "LAD22NM": [TINY_BOROUGH[1]]},
        geometry=[shapely.box(TINY_X0, TINY_Y0, TINY_X0 + 3000, TINY_Y0 + 1000)],
        crs="EPSG:27700",
    )
    pyogrio.write_dataframe(boroughs, root / "boundaries" / "boroughs.gpkg", layer="boroughs")
    to_wgs = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    pop_dir = root / "population"
    pop_dir.mkdir(parents=True)
    with open(pop_dir / "lsoa11_population_weighted_centroids.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["X", "Y", "objectid", "lsoa11cd", "lsoa11nm"])
        for i, (code, _) in enumerate(TINY_LSOAS):
            lon, lat = to_wgs.transform(TINY_X0 + 1000 * i + 500, TINY_Y0 + 500)
            w.writerow([lon, lat, i + 1, code, f"Testham {i:03d}A"])
    for year in (2019, 2020):
        with open(pop_dir / f"lsoa11_mid{year}_population.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["LSOA11CD", "LSOA11NM", "Persons_All-Ages", *TINY_AGES])
            for i, (code, people) in enumerate(TINY_LSOAS):
                w.writerow([code, f"Testham {i:03d}A", people, *([people // 5] * 5)])
    (root / "stations").mkdir()
    write_stations(
        root / "stations" / "front_counters_2017.csv",
        [
            {
                "id": "s0",
                "name": "Alpha",
                "borough": TINY_BOROUGH[1],
                "easting": TINY_X0 + 500,
                "northing": TINY_Y0 + 500,
            },
            {
                "id": "s1",
                "name": "Gamma",
                "borough": TINY_BOROUGH[1],
                "easting": TINY_X0 + 2500,
                "northing": TINY_Y0 + 500,
            },
            {
                "id": "s2",
                "name": "Beta",
                "borough": TINY_BOROUGH[1],
                "easting": TINY_X0 + 1500,
                "northing": TINY_Y0 + 500,
            },
        ],
        status=["retain", "close", "new"],
    )
    return root


def write_stations(path: Path, rows: list[dict], *, status: list[str] | None = None) -> Path:
    """A stations CSV of ``rows`` (with ``status_final_nov2017``, ``retain`` unless ``status`` says)."""
    status = status or ["retain"] * len(rows)
    rows = [{**r, "status_final_nov2017": s} for r, s in zip(rows, status, strict=True)]
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def edit_csv(path: Path, line: int, column: str, value: str) -> None:
    """Set ``column`` on file line ``line`` (the header is line 1)."""
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    rows[line - 1][rows[0].index(column)] = value
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows(rows)


def unclose_first_ring(shp: Path) -> None:
    """Move the last point of the first polygon's ring, so the ring no longer closes (a damaged .shp)."""
    data = bytearray(shp.read_bytes())
    offset = 100 + 8  # file header, then the first record's header
    num_parts, num_points = struct.unpack("<ii", data[offset + 36 : offset + 44])
    last = offset + 44 + 4 * num_parts + 16 * (num_points - 1)
    x, y = struct.unpack("<dd", data[last : last + 16])
    data[last : last + 16] = struct.pack("<dd", x + 123.0, y + 45.0)
    shp.write_bytes(bytes(data))
