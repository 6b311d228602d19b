"""What ``planner`` refuses: one small bad input per case, run through the CLI.

Every case builds a tiny synthetic data directory (three 1-km wards, three
LSOAs, three counters: retained, closing and new) in ``tmp_path``, spoils one thing and runs one command.
It must exit with ``code`` (2 unless stated), print ``message`` (whitespace
and table borders ignored), show no traceback and write nothing into
``{out}``.  To add a case, append a :class:`Case` to :data:`CASES`; the
README's "What `planner` refuses and why" section lists the cases by topic
and a test fails until it is regenerated with::

    python -m tests.test_refusals --readme
"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from typer.testing import CliRunner

from planner.cli import app
from tests.synthetic import (
    TINY_AGES,
    TINY_BOROUGH,
    TINY_LSOAS,
    TINY_SCENARIO,
    TINY_WARDS,
    TINY_X0,
    TINY_Y0,
    WARD_LAYOUTS,
    edit_csv,
    tiny_ward_frame,
    unclose_first_ring,
    write_stations,
    write_tiny_data,
    write_ward_zip,
)

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
runner = CliRunner()

# --------------------------------------------------------------------------- the tiny data directory (synthetic.py)
WARDS, BOROUGH, X0, Y0, LSOAS = TINY_WARDS, TINY_BOROUGH, TINY_X0, TINY_Y0, TINY_LSOAS
CENTROIDS, AGES, SCENARIO = "lsoa11_population_weighted_centroids.csv", TINY_AGES, TINY_SCENARIO


# --------------------------------------------------------------------------- spoilers used by the cases
def _pop(line: int, value: str, column: str = "Persons_All-Ages") -> Callable[[Path], None]:
    def spoil(tmp: Path) -> None:
        edit_csv(tmp / "data" / "population" / "lsoa11_mid2019_population.csv", line, column, value)

    return spoil


def _scenario(text: str, name: str = "bad.toml") -> Callable[[Path], None]:
    def spoil(tmp: Path) -> None:
        (tmp / name).write_text(text)

    return spoil


def _stations(rows: list[dict], name: str = "bad_stations.csv") -> Callable[[Path], None]:
    def spoil(tmp: Path) -> None:
        write_stations(tmp / name, rows)

    return spoil


def _good(**overrides: object) -> dict:
    return {"id": "x", "name": "X", "borough": BOROUGH[1], "easting": X0 + 500, "northing": Y0 + 500, **overrides}


def _wards_spoiled(how: str) -> Callable[[Path], None]:
    def spoil(tmp: Path) -> None:
        target = tmp / "data" / "boundaries" / "London-wards-2014.zip"
        if how == "duplicate":
            frame = tiny_ward_frame(WARD_LAYOUTS[2014])
            frame.loc[1, "GSS_CODE"] = frame.loc[0, "GSS_CODE"]
            write_ward_zip(target, frame)
        elif how == "no-prj":
            write_ward_zip(target, tiny_ward_frame(WARD_LAYOUTS[2014]), prj=False)
        elif how == "not-zip":
            target.write_bytes(b"this is not a zip archive")
        elif how == "damaged":
            build = tmp / "damaged"
            with zipfile.ZipFile(target) as zf:
                zf.extractall(build)
                names = zf.namelist()
            for shp in build.rglob("*.shp"):
                unclose_first_ring(shp)
            with zipfile.ZipFile(target, "w") as zf:
                for name in names:
                    zf.write(build / name, name)
        elif how == "missing":
            target.unlink()

    return spoil


def _file(name: str, content: bytes) -> Callable[[Path], None]:
    def spoil(tmp: Path) -> None:
        (tmp / name).write_bytes(content)

    return spoil


def _truncated_osm(tmp: Path) -> None:
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n'
        '  <node id="1" lat="51.5" lon="-0.1"/>\n  <node id="2" lat="51.501" lon="-0.1"/>\n'
        '  <way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="resid'
    )
    (tmp / "cut.osm").write_text(text)


def _truncated_pbf(tmp: Path) -> None:
    # a valid PBF header block, then the stream stops in the middle of the next blob header
    import osmium

    full = tmp / "full.osm.pbf"
    writer = osmium.SimpleWriter(str(full))
    for i in range(200):
        writer.add_node(osmium.osm.mutable.Node(id=i + 1, location=(-0.1 + i * 1e-4, 51.5)))
    writer.add_way(osmium.osm.mutable.Way(id=1, nodes=list(range(1, 201)), tags={"highway": "residential"}))
    writer.close()
    data = full.read_bytes()
    (tmp / "cut.osm.pbf").write_bytes(data[: len(data) - 40])


def _file_at(name: str) -> Callable[[Path], None]:
    def spoil(tmp: Path) -> None:
        (tmp / name).write_text("I am a file")

    return spoil


def _immutable(tmp: Path) -> None:
    folder = tmp / "locked"
    folder.mkdir()
    done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"chattr +i is not available here ({done.stderr.decode().strip()})")


def _undo_immutable(tmp: Path) -> None:
    if (tmp / "locked").exists():
        subprocess.run(["chattr", "-i", str(tmp / "locked")], capture_output=True, check=False)


# --------------------------------------------------------------------------- spoilers of round two
def _drop_line(relative: str, line: int) -> Callable[[Path], None]:
    def spoil(tmp: Path) -> None:
        path = tmp / "data" / relative
        lines = path.read_text().splitlines(keepends=True)
        del lines[line - 1]
        path.write_text("".join(lines))

    return spoil


def _borough_without_population(tmp: Path) -> None:
    """LSOA E01000003's centroid is renamed into a borough of its own, and its population row deleted."""
    edit_csv(tmp / "data" / "population" / CENTROIDS, 4, "lsoa11nm", "Otherham 001A")
    _drop_line("population/lsoa11_mid2019_population.csv", 4)(tmp)


def _status(line: int, value: str) -> Callable[[Path], None]:
    def spoil(tmp: Path) -> None:
        edit_csv(tmp / "data" / "stations" / "front_counters_2017.csv", line, "status_final_nov2017", value)

    return spoil


def _stations_bytes(encoding: str, sep: str = ",") -> Callable[[Path], None]:
    def spoil(tmp: Path) -> None:
        rows = [
            ["id", "name", "borough", "easting", "northing"],
            ["x", "Bärnsdale Grove", BOROUGH[1], X0 + 500, Y0 + 500],
        ]
        text = "\n".join(sep.join(str(c) for c in r) for r in rows) + "\n"
        (tmp / "odd_stations.csv").write_bytes(text.encode(encoding))

    return spoil


def _wards_degrees(tmp: Path) -> None:
    """British National Grid metres under a WGS84 .prj."""
    frame = tiny_ward_frame(WARD_LAYOUTS[2014])
    write_ward_zip(tmp / "data" / "boundaries" / "London-wards-2014.zip", frame.set_crs(4326, allow_override=True))


def _wards_zip_of(name: str) -> Callable[[Path], None]:
    def spoil(tmp: Path) -> None:
        frame = tiny_ward_frame(WARD_LAYOUTS[2014])
        target = tmp / "data" / "boundaries" / "London-wards-2014.zip"
        with zipfile.ZipFile(target, "w") as zf:
            if name.endswith(".geojson"):
                for layer in ("London_Ward", "London_Ward_CityMerged"):
                    zf.writestr(f"{layer}.geojson", frame.to_crs(4326).to_json())
            else:
                zf.writestr(name, "not a map")

    return spoil


def _move_bus_stop(tmp: Path) -> None:
    """The second stop of the first route run of the synthetic bus file, moved 40 km east."""
    path = tmp / "synthetic" / "transit" / "bus_sequences_2016.csv"
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    col = rows[0].index("Location_Easting")
    rows[2][col] = str(float(rows[2][col]) + 40_000)
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows(rows)


def _run(tmp: Path, text: str, data: Path | None = None) -> Path:
    """Run a scenario (TOML text) into ``{tmp}/runs`` and return its folder."""
    name = re.search(r'name = "([^"]+)"', text).group(1)
    path = tmp / f"{name}.toml"
    path.write_text(text)
    result = runner.invoke(
        app, ["run", str(path), "--data", str(data or tmp / "data"), "--out", str(tmp / "runs"), "--no-maps"]
    )
    assert result.exit_code == 0, result.output
    return tmp / "runs" / name


def _other(**changes: str) -> str:
    text = SCENARIO.replace('name = "tiny"', 'name = "other"')
    for old, new in changes.items():
        text = text.replace(old, new)
    return text


def _runs(second: str = "same", *, edit: Callable[[Path], None] | None = None) -> Callable[[Path], None]:
    """``runs/tiny`` and a second run: ``other`` with the same data, other data, another year or engine."""

    def spoil(tmp: Path) -> None:
        _run(tmp, SCENARIO)
        if second == "data":  # the same scenario files, rerun after the population file changed
            other = Path(shutil.copytree(tmp / "data", tmp / "data2"))
            edit_csv(other / "population" / "lsoa11_mid2019_population.csv", 2, "Persons_All-Ages", "1500")
            edit_csv(other / "population" / "lsoa11_mid2019_population.csv", 2, "Persons_0-15", "700")
            _run(tmp, _other(), other)
        elif second == "year":
            _run(tmp, _other(**{"thresholds = [45]": "thresholds = [45]\ndemand_year = 2020"}))
        elif second == "engine":
            _run(tmp, _other(**{'name = "crowfly"': 'name = "crowfly"\nparams = { speed_kmh = 6.0 }'}))
        elif second == "same":
            _run(tmp, _other())
        elif second == "city":
            _run(tmp, _other(**{"thresholds = [45]": "thresholds = [45]\ninclude_city = true"}))
        if edit is not None:
            edit(tmp / "runs" / "tiny")

    return spoil


def _summary(key: str, value: object) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        import json

        doc = json.loads((folder / "summary.json").read_text())
        doc["london"]["45"][key] = value
        (folder / "summary.json").write_text(json.dumps(doc))

    return edit


def _drop_input(prefix: str) -> Callable[[Path], None]:
    """A manifest whose ``inputs`` lost the files under ``prefix``."""

    def edit(folder: Path) -> None:
        import json

        manifest = json.loads((folder / "manifest.json").read_text())
        manifest["inputs"] = {k: v for k, v in manifest["inputs"].items() if not k.startswith(prefix)}
        (folder / "manifest.json").write_text(json.dumps(manifest))

    return edit


def _manifest_costs(folder: Path) -> None:
    """A manifest whose scenario parameters were edited after the run (costs that make a saving up)."""
    import json

    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["parameters"]["costs"] = {"currency": "GBP", "annual_cost_per_counter": 9999999.0, "by_station": {}}
    (folder / "manifest.json").write_text(json.dumps(manifest))


def _table(name: str, column: str, value: object) -> Callable[[Path], None]:
    """A plausible edit of one cell of a run folder's CSV (first row), which no table check can see."""

    def edit(folder: Path) -> None:
        import pandas as pd

        table = pd.read_csv(folder / name, dtype=str, keep_default_na=False)
        table.loc[0, column] = str(value)
        table.to_csv(folder / name, index=False)

    return edit


def _points(how: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        path = folder / "access_points.csv"
        lines = path.read_text().splitlines(keepends=True)
        if how == "delete":
            del lines[2]
        elif how == "duplicate":
            lines.append(lines[2])
        path.write_text("".join(lines))
        if how in ("minutes", "population"):
            edit_csv(path, 3, how, "abc")

    return edit


def _calibration(**spoil: object) -> Callable[[Path], None]:
    def write(tmp: Path) -> None:
        from tests.test_calibrate_inputs import write_hospitals_2016, write_jts04

        folder = tmp / "data" / "calibration"
        write_hospitals_2016(folder / "nhs_hospitals_2016.csv")
        write_jts04(folder / "jts04_la_2016.csv", **spoil)  # type: ignore[arg-type]

    return write


def _hospital_swapped(tmp: Path) -> None:
    _calibration()(tmp)
    path = tmp / "data" / "calibration" / "nhs_hospitals_2016.csv"
    path.write_text(path.read_text().replace("531500.0,181000.0", "181000.0,531500.0"))


def _wards_of_2018_as_2014(tmp: Path) -> None:
    boundaries = tmp / "data" / "boundaries"
    shutil.copyfile(boundaries / "London-wards-2018.zip", boundaries / "London-wards-2014.zip")


def _no_postcodes(tmp: Path) -> None:
    _run(tmp, SCENARIO)  # --no-maps: no postcodes.parquet


def _boroughs(change: str) -> Callable[[Path], None]:
    """A ``boroughs.gpkg`` with the borough given twice, or with another borough's code only."""

    def spoil(tmp: Path) -> None:
        codes = {"duplicate": [BOROUGH[0], BOROUGH[0]], "missing": ["E09000099"]}[change]
        frame = gpd.GeoDataFrame(
            {"LAD22CD": codes, "LAD22NM": [BOROUGH[1]] * len(codes)},
            geometry=[shapely.box(X0, Y0, X0 + 3000, Y0 + 1000)] * len(codes),
            crs="EPSG:27700",
        )
        pyogrio.write_dataframe(frame, tmp / "data" / "boundaries" / "boroughs.gpkg", layer="boroughs")

    return spoil


def _matrix(change: str) -> Callable[[Path], None]:
    """A run whose ``travel_matrix.csv`` (the scenario explorer's input) is deleted or has a wrong minute."""

    def spoil(tmp: Path) -> None:
        folder = _run(tmp, SCENARIO)
        path = folder / "travel_matrix.csv"
        if change == "delete":
            path.unlink()
        else:
            lines = path.read_text().splitlines()
            cells = lines[1].split(",")
            cells[1:] = ["999"] * (len(cells) - 1)
            lines[1] = ",".join(cells)
            path.write_text("\n".join(lines) + "\n")

    return spoil


def _compose(*spoils: Callable[[Path], None]) -> Callable[[Path], None]:
    def spoil(tmp: Path) -> None:
        for one in spoils:
            one(tmp)

    return spoil


# --------------------------------------------------------------------------- spoilers of the hostile pass
def _foreign_folder(tmp: Path) -> None:
    (tmp / "mine" / "tiny" / "precious").mkdir(parents=True)
    (tmp / "mine" / "tiny" / "precious" / "thesis.docx").write_text("years of work")


def _centroid(x: object, y: object) -> Callable[[Path], None]:
    def spoil(tmp: Path) -> None:
        edit_csv(tmp / "data" / "population" / CENTROIDS, 2, "X", str(x))
        edit_csv(tmp / "data" / "population" / CENTROIDS, 2, "Y", str(y))

    return spoil


def _swap_centroid(tmp: Path) -> None:
    with open(tmp / "data" / "population" / CENTROIDS, newline="") as fh:
        rows = list(csv.reader(fh))
    _centroid(rows[1][1], rows[1][0])(tmp)


def _edit_run_csv(name: str, line: int, column: str, value: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        edit_csv(folder / name, line, column, value)

    return edit


def _halve_minutes(folder: Path) -> None:
    with open(folder / "access_points.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    col = rows[0].index("minutes")
    for row in rows[1:]:
        row[col] = str(float(row[col]) / 2)
    with open(folder / "access_points.csv", "w", newline="") as fh:
        csv.writer(fh).writerows(rows)


def _drop_counter_row(folder: Path) -> None:
    lines = (folder / "counters.csv").read_text().splitlines(keepends=True)
    (folder / "counters.csv").write_text("".join(lines[:1]))


def _engine_name(name: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        import json

        doc = json.loads((folder / "manifest.json").read_text())
        doc["engine"]["engine"] = name
        (folder / "manifest.json").write_text(json.dumps(doc))

    return edit


def _sweep_of_another_engine(tmp: Path) -> None:
    """``runs/tiny`` (crow-fly at its default speed) and a marginal sweep of the same plan at 20 km/h."""
    from planner.sweep import run_sweep

    _run(tmp, SCENARIO)
    fast = tmp / "fast" / "tiny.toml"
    fast.parent.mkdir()
    fast.write_text(SCENARIO.replace('name = "crowfly"', 'name = "crowfly"\nparams = { speed_kmh = 20.0 }'))
    done = run_sweep(fast, kind="marginal", out=tmp / "sweeps", data=tmp / "data", serial=True)
    done.folder.rename(tmp / "sweep")


def _near_miss_stations(tmp: Path) -> None:
    rows = [_good(id=f"k{i}", easting=X0 + 100 + 150 * i) for i in range(6)]
    write_stations(tmp / "near_stations.csv", rows, status=["retain"] * 5 + ["retained"])


def _copy_scenario(tmp: Path) -> None:
    (tmp / "copy").mkdir()
    (tmp / "copy" / "tiny.toml").write_text(SCENARIO.replace("thresholds = [45]", "thresholds = [45, 60]"))


def _no_hashes(folder: Path) -> None:
    import json

    doc = json.loads((folder / "manifest.json").read_text())
    del doc["outputs"]
    (folder / "manifest.json").write_text(json.dumps(doc))


def _top_summary(key: str, value: object) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        import json

        doc = json.loads((folder / "summary.json").read_text())
        doc[key] = value
        (folder / "summary.json").write_text(json.dumps(doc))

    return edit


def _postcodes(rows: list[tuple[str, float, float]], *, lad: str = BOROUGH[0]) -> Callable[[Path], None]:
    def spoil(tmp: Path) -> None:
        import gzip

        folder = tmp / "data" / "postcodes"
        folder.mkdir(exist_ok=True)
        text = "postcode,pq,easting,northing,lad\n" + "".join(f"{p},10,{x},{y},{lad}\n" for p, x, y in rows)
        with gzip.open(folder / "codepoint_open_2025_london.csv.gz", "wt") as fh:
            fh.write(text)

    return spoil


def _stations_with(**extra: object) -> Callable[[Path], None]:
    def spoil(tmp: Path) -> None:
        write_stations(tmp / "bad_stations.csv", [_good(**extra)])

    return spoil


# --------------------------------------------------------------------------- the catalogue
@dataclass(frozen=True)
class Case:
    """One refused input.

    Attributes
    ----------
    id
        Short unique name (the pytest id).
    topic
        A key of :data:`TOPICS` (the README groups cases by it).
    label
        What the user gave, as shown in the README.
    args
        The command line after ``planner``; ``{data}``, ``{out}``, ``{tmp}``
        and ``{scenario}`` (a valid tiny scenario) are filled in.
    message
        A fragment the error must contain.
    spoil
        Changes the tiny data directory or writes a bad file under ``{tmp}``.
    code
        Expected exit code: 2 for a refusal, 0 where the input is usable and
        is read correctly (with ``warning`` saying what was repaired).
    warning
        A fragment a logged warning must contain (the CLI shows warnings on stderr).
    data
        ``"tiny"`` (the three-ward directory) or ``"synthetic"`` (tests/synthetic.py, with transit data).
    """

    id: str
    topic: str
    label: str
    args: list[str]
    message: str
    spoil: Callable[[Path], None] | None = None
    code: int = 2
    cleanup: Callable[[Path], None] | None = field(default=None, compare=False)
    warning: str = ""
    data: str = "tiny"


#: Why each kind of input is refused (the README's wording).
TOPICS: dict[str, str] = {
    "thresholds": "a threshold that is not a finite number of minutes above 0 would make every figure meaningless",
    "populations": "a missing, non-numeric or negative resident count would change every population-weighted figure",
    "data files": "a damaged, incomplete or ambiguous data file is never guessed at; the message says how to get it",
    "stations": "counter coordinates that are missing, swapped or outside London would move counters silently",
    "scenarios": "a scenario field that is unknown, out of range or contradictory would be ignored or misread",
    "street networks": "an OpenStreetMap file that cannot be read completely would leave residents unreachable",
    "output folders": "the output folder is checked before any work, so a long run never fails at the last step",
    "options": "an option the tool cannot read is refused rather than replaced by a default",
    "engine parameters": "a parameter outside its plausible range gives figures no traveller could see",
    "run sets": "runs made from different data, demand years or engines would show those differences as the "
    "plan's; `--allow-mixed` sets them side by side with the differences stated",
    "run folders": "a run folder changed after it was written would give a report or comparison wrong figures",
    "calibration tables": "a damaged DfT table would drop a borough or turn every score into nan",
}

RUN = ["run", "{scenario}", "--data", "{data}", "--out", "{out}", "--no-maps"]
BAD = ["run", "{tmp}/bad.toml", "--data", "{data}", "--out", "{out}"]  # run the spoiled scenario
ACCESS = ["access", "--data", "{data}", "--engine", "crowfly", "--out", "{out}"]
CHECK = ["data", "check", "--data", "{data}"]

CASES: list[Case] = [
    # thresholds
    Case("access-threshold-nan", "thresholds", "`access --threshold nan`", [*ACCESS, "--threshold", "nan"],
         "positive, finite number of minutes"),
    Case("access-threshold-inf", "thresholds", "`access --threshold inf`", [*ACCESS, "--threshold", "inf"],
         "positive, finite number of minutes"),
    Case("access-threshold-zero", "thresholds", "`access --threshold 0`", [*ACCESS, "--threshold", "0"],
         "positive, finite number of minutes"),
    Case("access-threshold-negative", "thresholds", "`access --threshold=-5`", [*ACCESS, "--threshold=-5"],
         "positive, finite number of minutes"),
    Case("optimise-threshold-nan", "thresholds", "`optimise --threshold nan`",
         ["optimise", "{scenario}", "--data", "{data}", "--threshold", "nan", "--out", "{out}"],
         "positive, finite number of minutes"),
    Case("sessions-threshold-nan", "thresholds", "`sessions --threshold nan`",
         ["sessions", "{scenario}", "--data", "{data}", "--threshold", "nan", "--out", "{out}"],
         "positive, finite number of minutes"),
    Case("sessions-threshold-zero", "thresholds", "`sessions --threshold 0`",
         ["sessions", "{scenario}", "--data", "{data}", "--threshold", "0", "--out", "{out}"],
         "positive, finite number of minutes"),
    Case("sessions-threshold-negative", "thresholds", "`sessions --threshold=-5`",
         ["sessions", "{scenario}", "--data", "{data}", "--threshold=-5", "--out", "{out}"],
         "positive, finite number of minutes"),
    Case("sweep-thresholds-nan", "thresholds", "`sweep --kind grid --thresholds 45,nan`",
         ["sweep", "{scenario}", "--kind", "grid", "--data", "{data}", "--thresholds", "45,nan", "--out", "{out}"],
         "`threshold` (--thresholds) must be a positive, finite number of minutes"),
    Case("scenario-threshold-inf", "thresholds", "`thresholds = [inf]` in a scenario",
         BAD, "thresholds.0: Input should be a finite number",
         _scenario(SCENARIO.replace("thresholds = [45]", "thresholds = [inf]"))),
    Case("scenario-threshold-nan", "thresholds", "`thresholds = [nan]` in a scenario",
         BAD, "thresholds.0: Input should be a finite number",
         _scenario(SCENARIO.replace("thresholds = [45]", "thresholds = [nan]"))),
    Case("scenario-threshold-zero", "thresholds", "`thresholds = [45, 0]` in a scenario",
         BAD, "thresholds.1: Input should be greater than 0",
         _scenario(SCENARIO.replace("thresholds = [45]", "thresholds = [45, 0]"))),
    # populations
    Case("population-negative-check", "populations", "a negative LSOA population (`data check`)", CHECK,
         "line 3, LSOA E01000002: Persons_All-Ages is -5, negative", _pop(3, "-5")),
    Case("population-negative-run", "populations", "a negative LSOA population (`run`)", RUN,
         "line 3, LSOA E01000002: Persons_All-Ages is -5, negative", _pop(3, "-5")),
    Case("population-text", "populations", "a population that is not a number", CHECK,
         "LSOA E01000001: Persons_All-Ages is 'many', not a number", _pop(2, "many")),
    Case("population-missing-value", "populations", "an empty population cell", CHECK,
         "LSOA E01000003: Persons_65+ is missing", _pop(4, "", "Persons_65+")),
    Case("population-duplicate-lsoa", "populations", "an LSOA listed twice", CHECK,
         "appear more than once", _pop(3, "E01000001", "LSOA11CD")),
    # data files
    Case("no-data-directory", "data files", "no `--data` and no `PLANNER_DATA`", ["data", "check"], "PLANNER_DATA"),
    Case("data-directory-missing", "data files", "a `--data` folder that does not exist",
         ["data", "check", "--data", "{tmp}/nowhere"], "does not exist"),
    Case("wards-file-missing", "data files", "a missing ward file", CHECK,
         "planner data fetch --dest", _wards_spoiled("missing")),
    Case("centroids-missing", "data files", "a missing file with no public download", CHECK,
         "it has no public download", lambda tmp: (tmp / "data/population" / CENTROIDS).unlink()),
    Case("wards-not-zip", "data files", "a ward file that is not a zip", CHECK, "is not a valid zip archive",
         _wards_spoiled("not-zip")),
    Case("wards-damaged-shapefile", "data files", "a damaged shapefile inside a valid zip", CHECK,
         "the file is damaged", _wards_spoiled("damaged")),
    Case("wards-no-crs", "data files", "a ward shapefile without its .prj (no CRS)", CHECK, "no CRS",
         _wards_spoiled("no-prj")),
    Case("wards-duplicate-codes", "data files", "duplicate ward codes", CHECK, "duplicate ward codes ['E05000001']",
         _wards_spoiled("duplicate")),
    Case("population-year", "data files", "`data check --year 2018` (no such estimates)", [*CHECK, "--year", "2018"],
         "Demand year 2018 is not available"),
    # stations
    Case("stations-swapped-lat-lon", "stations", "swapped latitude and longitude",
         [*ACCESS, "--stations", "{tmp}/bad_stations.csv", "--open", "ids=x"], "look swapped",
         _stations([{"id": "x", "name": "X", "lat": -0.1, "lon": 51.5}])),
    Case("stations-swapped-easting-northing", "stations", "swapped easting and northing",
         [*ACCESS, "--stations", "{tmp}/bad_stations.csv", "--open", "ids=x"], "easting and northing look swapped",
         _stations([_good(easting=Y0 + 500, northing=X0 + 500)])),
    Case("stations-outside-london", "stations", "a counter outside London",
         [*ACCESS, "--stations", "{tmp}/bad_stations.csv", "--open", "ids=x"], "delete those rows from it",
         _stations([_good(easting=400000)])),
    Case("stations-missing-coordinate", "stations", "a counter without a coordinate",
         [*ACCESS, "--stations", "{tmp}/bad_stations.csv", "--open", "ids=x"], "line 2 (x): northing is missing",
         _stations([_good(northing="")])),
    Case("stations-duplicate-ids", "stations", "two counters with one id",
         [*ACCESS, "--stations", "{tmp}/bad_stations.csv", "--open", "ids=x"], "duplicate station ids ['x']",
         _stations([_good(), _good(easting=X0 + 900)])),
    Case("stations-empty", "stations", "an empty stations file",
         [*ACCESS, "--stations", "{tmp}/empty.csv", "--open", "ids=x"], "is empty (0 bytes)", _file("empty.csv", b"")),
    Case("stations-unknown-status", "stations", "`--open` with a status no counter has",
         [*ACCESS, "--open", "status_final_nov2017=maybe"], "values present: ['close', 'new', 'retain']"),
    # scenarios
    Case("scenario-unknown-field", "scenarios", "an unknown scenario field",
         BAD, "colour: Extra inputs are not permitted",
         _scenario(SCENARIO.replace('name = "tiny"', 'name = "tiny"\ncolour = "blue"'))),
    Case("scenario-second-bad", "scenarios", "a bad scenario after a good one: neither runs",
         ["run", "{scenario}", "{tmp}/bad.toml", "--data", "{data}", "--out", "{out}"], "thresholds.0: Input should be",
         _scenario(SCENARIO.replace("thresholds = [45]", "thresholds = [-45]"))),
    Case("scenario-not-toml", "scenarios", "a scenario that is not TOML",
         BAD, "not valid TOML", _scenario("name = ")),
    Case("scenario-missing", "scenarios", "a scenario file that does not exist",
         ["run", "{tmp}/none.toml", "--data", "{data}", "--out", "{out}"], "does not exist"),
    Case("scenario-unknown-station", "scenarios", "an open counter id the stations file lacks",
         [*BAD, "--no-maps"], "unknown station id(s) ['zz']",
         _scenario(SCENARIO.replace('column = "status_final_nov2017", values = ["retain"]', 'ids = ["zz"]'))),
    Case("scenario-required-forbidden", "scenarios", "a counter both required and forbidden",
         BAD, "both required and forbidden",
         _scenario(SCENARIO.replace("\n[engine]", 'required = ["s0"]\nforbidden = ["s0"]\n\n[engine]'))),
    Case("scenario-hub-engine-network", "scenarios", '`hubs.engine = "network"`',
         ["run", "{tmp}/bad.toml", "--data", "{data}", "--out", "{out}"],
         "hubs.engine: the network engine cannot be used for residents' trips to hub sites",
         _scenario(SCENARIO.replace("enabled = false", 'engine = "network"'))),
    Case("scenario-engine-param", "scenarios", "a misspelt engine parameter (refused before any data loads)",
         BAD, "unknown transit parameter(s) ['bus_sped_kmh']",
         _scenario(SCENARIO.replace('name = "crowfly"', 'name = "transit"\nparams = { bus_sped_kmh = 20 }'))),
    Case("scenario-engine-switch", "scenarios", '`night_buses = "maybe"`',
         BAD, "night_buses must be true or false",
         _scenario(SCENARIO.replace('name = "crowfly"', 'name = "transit"\nparams = { night_buses = "maybe" }'))),
    Case("scenario-hubs-word", "scenarios", '`hubs.hubs = "lots"`',
         BAD, "'lots' is not a hub count",
         _scenario(SCENARIO.replace("enabled = false", 'hubs = "lots"'))),
    Case("scenario-hub-sizes-backwards", "scenarios", "`wards_per_hub = [5, 4]`",
         BAD, "smallest hub size 5 is larger than the largest 4",
         _scenario(SCENARIO.replace("enabled = false", "wards_per_hub = [5, 4]"))),
    Case("scenario-demand-year", "scenarios", "`demand_year = 2018`",
         BAD, "demand_year: Input should be 2019 or 2020",
         _scenario(SCENARIO.replace("thresholds = [45]", "thresholds = [45]\ndemand_year = 2018"))),
    # street networks
    Case("osm-empty", "street networks", "an empty `.osm` file",
         [*ACCESS[:3], "--engine", "network", "--osm", "{tmp}/empty.osm", "--out", "{out}"], "is empty (0 bytes)",
         _file("empty.osm", b"")),
    Case("osm-truncated-xml", "street networks", "a truncated `.osm` file",
         [*ACCESS[:3], "--engine", "network", "--osm", "{tmp}/cut.osm", "--out", "{out}"], "truncated or damaged",
         _truncated_osm),
    Case("osm-truncated-pbf", "street networks", "a truncated `.osm.pbf` file",
         [*ACCESS[:3], "--engine", "network", "--osm", "{tmp}/cut.osm.pbf", "--out", "{out}"], "truncated or damaged",
         _truncated_pbf),
    Case("osm-not-pbf", "street networks", "a `.osm.pbf` file that is not PBF",
         [*ACCESS[:3], "--engine", "network", "--osm", "{tmp}/junk.osm.pbf", "--out", "{out}"], "truncated or damaged",
         _file("junk.osm.pbf", b"not a protocol buffer at all")),
    Case("osm-missing", "street networks", "`--engine network` without `--osm`",
         [*ACCESS[:3], "--engine", "network", "--out", "{out}"], "needs an OSM file"),
    # output folders
    Case("out-is-a-file", "output folders", "`--out` naming an existing file",
         ["run", "{scenario}", "--data", "{data}", "--out", "{tmp}/taken"], "is an existing file, not a folder",
         _file_at("taken")),
    Case("out-under-a-file", "output folders", "`--out` under a file",
         [*ACCESS[:5], "--out", "{tmp}/taken/sub"], "is a file, so no folder can be made under it", _file_at("taken")),
    Case("out-in-proc", "output folders", "`--out /proc/...`",
         ["run", "{scenario}", "--data", "{data}", "--out", "/proc/planner-refusal-test"], "cannot write in /proc"),
    Case("out-read-only", "output folders", "`--out` on a read-only file system",
         ["optimise", "{scenario}", "--data", "{data}", "--out", "/sys/planner-refusal-test"], "cannot write in /sys"),
    Case("out-immutable", "output folders", "`--out` in an immutable folder",
         ["sweep", "{scenario}", "--data", "{data}", "--out", "{tmp}/locked/out"], "cannot write in",
         _immutable, cleanup=_undo_immutable),
    Case("out-checked-first", "output folders", "a bad `--out` with bad data too: the folder is reported first",
         ["run", "{scenario}", "--data", "{tmp}/nowhere", "--out", "{tmp}/taken"], "is an existing file",
         _file_at("taken")),
    # options
    Case("hubs-word", "options", "`hubs --hubs abc`", ["hubs", "--data", "{data}", "--hubs", "abc", "--out", "{out}"],
         "'abc' is not a hub count"),
    Case("hubs-negative", "options", "`hubs --hubs=-5`", ["hubs", "--data", "{data}", "--hubs=-5", "--out", "{out}"],
         "for at most 5 hubs write 1-5"),
    Case("hubs-zero", "options", "`hubs --hubs 0`", ["hubs", "--data", "{data}", "--hubs", "0", "--out", "{out}"],
         "0 is not a positive hub count"),
    Case("hubs-backwards", "options", "`hubs --hubs 160-140`",
         ["hubs", "--data", "{data}", "--hubs", "160-140", "--out", "{out}"], "low end 160 is above the high end"),
    Case("hubs-engine-network", "options", "`hubs --engine network`",
         ["hubs", "--data", "{data}", "--engine", "network", "--out", "{out}"],
         "residents' trips to hub sites (no OSM file can be given for them): use transit, transit-simple or crowfly"),
    Case("hubs-wards-per-hub", "options", "`hubs --wards-per-hub four`",
         ["hubs", "--data", "{data}", "--wards-per-hub", "four", "--out", "{out}"], "expected LOW-HIGH"),
    Case("hubs-size-above-borough", "options", "`hubs --wards-per-hub 4-5` for a borough of 3 wards",
         ["hubs", "--data", "{data}", "--wards-per-hub", "4-5", "--out", "{out}"],
         "3 wards cannot be split into hubs of 4-5 wards (3 is fewer than 4). Widen the bounds, e.g. `size` "
         "(--wards-per-hub) (3, 5)"),
    Case("hubs-workload-impossible", "options", "`hubs --population-per-hub 1-2` (fewer residents than any ward)",
         ["hubs", "--data", "{data}", "--wards-per-hub", "1-3", "--population-per-hub", "1-2", "--out", "{out}"],
         "least populated wards alone hold"),
    Case("hubs-join-twice", "options", "`hubs --join-boroughs A,A`",
         ["hubs", "--data", "{data}", "--wards-per-hub", "1-3", "--join-boroughs", "E09000002,E09000002",
          "--out", "{out}"], "group ['E09000002', 'E09000002'] names ['E09000002'] more than once"),
    Case("hubs-join-city", "options", "`hubs --join-boroughs` with the City of London's code",
         ["hubs", "--data", "{data}", "--wards-per-hub", "1-3", "--join-boroughs", "E09000001,E09000002",
          "--out", "{out}"], "(E09000001 is the City of London, which has its own police force)"),
    Case("sweep-bus-speed-text", "options", "`sweep --bus-speed 12,fast`",
         ["sweep", "{scenario}", "--kind", "grid", "--data", "{data}", "--bus-speed", "12,fast", "--out", "{out}"],
         "`bus_speed_kmh` (--bus-speed): 'fast' is not a number"),
    Case("sweep-bus-speed-zero", "options", "`sweep --bus-speed 0`",
         ["sweep", "{scenario}", "--kind", "grid", "--data", "{data}", "--bus-speed", "0", "--out", "{out}"],
         "`bus_speed_kmh` (--bus-speed): '0' must be a finite number greater than 0"),
    Case("sweep-chunk-size-zero", "options", "`sweep --chunk-size 0`",
         ["sweep", "{scenario}", "--data", "{data}", "--chunk-size", "0", "--out", "{out}"],
         "Invalid value for '--chunk-size': Input should be greater than or equal to 1"),
    Case("sweep-kind", "options", "`sweep --kind everything`",
         ["sweep", "{scenario}", "--kind", "everything", "--data", "{data}", "--out", "{out}"], "unknown sweep kind"),
    Case("optimise-target-nan", "options", "`optimise --mode min-counters --target nan`",
         ["optimise", "{scenario}", "--data", "{data}", "--mode", "min-counters", "--target", "nan", "--out", "{out}"],
         "coverage target must be a percentage above 0 and at most 100"),
    Case("optimise-target-over-100", "options", "`optimise --mode min-counters --target 101`",
         ["optimise", "{scenario}", "--data", "{data}", "--mode", "min-counters", "--target", "101", "--out", "{out}"],
         "coverage target must be a percentage above 0 and at most 100"),
    Case("optimise-k-zero", "options", "`optimise --k 0`",
         ["optimise", "{scenario}", "--data", "{data}", "--k", "0", "--out", "{out}"],
         "number of counters to keep must be at least 1"),
    Case("fetch-dest-file", "output folders", "`data fetch --dest` naming a file",
         ["data", "fetch", "--dest", "{tmp}/taken", "--name", "wards-2014"], "--dest", _file_at("taken")),
    Case("optimise-disproportion-below-1", "options", "`optimise --max-disproportion 0.5`",
         ["optimise", "{scenario}", "--data", "{data}", "--max-disproportion", "0.5", "--out", "{out}"],
         "max_disproportion (--max-disproportion) must be a ratio of at least 1"),
    Case("optimise-group-without-bound", "options", "`optimise --group black` without `--max-disproportion`",
         ["optimise", "{scenario}", "--data", "{data}", "--group", "black", "--out", "{out}"],
         "`groups` (--group) names the groups that `max_disproportion` (--max-disproportion) bounds"),
    Case("optimise-group-unknown", "options", "`optimise --max-disproportion 1.2 --group martians`",
         ["optimise", "{scenario}", "--data", "{data}", "--max-disproportion", "1.2", "--group", "martians",
          "--out", "{out}"],
         "`groups` (--group) ['martians'] are not reported; choose from"),
    Case("optimise-mode", "options", "`optimise --mode best`",
         ["optimise", "{scenario}", "--data", "{data}", "--mode", "best", "--out", "{out}"], "unknown mode 'best'"),
    Case("engine-unknown", "options", "`access --engine teleport`",
         [*ACCESS[:3], "--engine", "teleport", "--out", "{out}"], "unknown engine 'teleport'"),
    Case("engine-param-format", "options", "`access --param fast`", [*ACCESS, "--param", "fast"],
         "expected NAME=VALUE"),
    Case("engine-param-unknown", "options", "`access --engine crowfly --param warp=9`", [*ACCESS, "--param", "warp=9"],
         "unknown crowfly parameter(s) ['warp']"),
    Case("engine-param-value", "options", "`access --engine crowfly --param speed_kmh=fast`",
         [*ACCESS, "--param", "speed_kmh=fast"], "crowfly parameter speed_kmh must be a finite number above 0"),
    Case("engine-param-mode", "options", "`access --engine network --param mode=wlak`",
         [*ACCESS[:3], "--engine", "network", "--osm", "{tmp}/none.osm", "--param", "mode=wlak", "--out", "{out}"],
         "network mode must be one of walk, bike, drive (got 'wlak')"),
    Case("borough-unknown", "options", "`access --borough Atlantis`", [*ACCESS, "--borough", "Atlantis"],
         "no borough called ['Atlantis']"),
    Case("compare-not-a-run", "options", "`compare` of a folder that is not a run",
         ["compare", "{tmp}", "--out", "{out}"], "is not a run folder"),
]  # fmt: skip


RUNS = ["{tmp}/runs/tiny", "{tmp}/runs/other"]
CALIBRATE = ["calibrate", "--data", "{data}", "--engine", "crowfly", "--set", "set_primary", "--out", "{out}"]
NAME_300 = "n" * 300

CASES += [
    # populations: what is missing is counted and named
    Case("population-lsoa-missing", "populations", "an LSOA with a centroid but no population row (warns, names it)",
         CHECK, "", _drop_line("population/lsoa11_mid2019_population.csv", 3), code=0,
         warning="1 LSOA(s) with a centroid in lsoa11_population_weighted_centroids.csv have no population row, so "
         "their residents are left out of every figure: E01000002 (Testham 001A)"),
    Case("population-borough-missing", "populations", "a borough with no population row at all", CHECK,
         "has no population row for any LSOA of Otherham", _borough_without_population),
    # stations: one reading of statuses; coordinates cross-checked
    Case("stations-status-spaces", "stations", "`retain ` (a trailing space) as a status (warns, read as `retain`)",
         RUN, "tiny: 1 counters", _status(2, "retain "), code=0,
         warning="status_final_nov2017: 1 value(s) with extra spaces, capitals or invisible characters were "
         "read as their plain lower-case form: line 2 'retain '"),
    Case("stations-status-capitals", "stations", "`Retain` as a status in the file (warns, read as `retain`)",
         CHECK, "retain 1", _status(2, "Retain"), code=0, warning="line 2 'Retain'"),
    Case("open-status-capitals", "stations", "`--open status_final_nov2017=Retain,new` (read as `retain,new`)",
         [*ACCESS, "--open", "status_final_nov2017=Retain,new"], "2 open counters", code=0),
    Case("open-status-typo", "stations", "`--open status_final_nov2017=retian` (a near miss)",
         [*ACCESS, "--open", "status_final_nov2017=retian"], "'retian': did you mean 'retain'?"),
    Case("scenario-status-typo", "scenarios", "`values = [\"Retian\"]` in a scenario (a near miss)",
         BAD, "counters.open.values: ['Retian'] never occur in column 'status_final_nov2017'",
         _scenario(SCENARIO.replace('values = ["retain"]', 'values = ["Retian"]'))),
    Case("stations-lat-lon-disagree", "stations", "a counter whose lat/lon lies 15 km from its easting/northing",
         [*ACCESS, "--stations", "{tmp}/bad_stations.csv", "--open", "ids=x"], "km apart; correct whichever is wrong",
         _stations([_good(lat=51.5, lon=-0.33)])),
    Case("stations-latin-1", "stations", "a stations CSV saved as Latin-1 (warns, read as Windows-1252)",
         [*ACCESS, "--stations", "{tmp}/odd_stations.csv", "--open", "ids=x"], "1 open counters",
         _stations_bytes("latin-1"), code=0, warning="is not UTF-8 (line 2 holds byte 0xe4)"),
    Case("stations-semicolons", "stations", "a stations CSV separated by semicolons (warns, read so)",
         [*ACCESS, "--stations", "{tmp}/odd_stations.csv", "--open", "ids=x"], "1 open counters",
         _stations_bytes("utf-8", ";"), code=0, warning="separates its columns with ';', not commas"),
    # data files
    Case("wards-metres-under-degrees", "data files", "wards in British National Grid metres with a WGS84 `.prj`",
         CHECK, "which are not degrees: they look like metres", _wards_degrees),
    Case("wards-geojson-in-zip", "data files", "a ward zip holding GeoJSON instead of a shapefile (read as it is)",
         CHECK, "Met wards (2014, City excluded) 3", _wards_zip_of("GeoJSON.geojson"), code=0),
    Case("wards-zip-of-nothing", "data files", "a ward zip holding no map layer",
         CHECK, "holds no shapefile (.shp) and no GeoJSON or GeoPackage (entries: readme.txt)",
         _wards_zip_of("readme.txt")),
    Case("bus-stop-moved", "data files", "a bus stop moved 40 km off its route (warns, the stop dropped)",
         ["access", "--data", "{data}", "--engine", "transit", "--open", "status_final_nov2017=retain", "--out",
          "{out}"], "Residents beyond 45 minutes",
         _move_bus_stop, code=0, data="synthetic",
         warning="1 route-stop(s) lie far off their route (misplaced coordinates) and were dropped, the rides on "
         "either side joined: route 7 run 1 stop 90002 (line 3)"),
    # scenarios
    Case("scenario-name-too-long", "scenarios", "a 300-character scenario name", BAD,
         "name: String should have at most 80 characters",
         _scenario(SCENARIO.replace('name = "tiny"', f'name = "{NAME_300}"'))),
    Case("scenario-add-and-remove", "scenarios", "a counter in both `counters.open.add` and `remove`", BAD,
         "station ids ['s1'] are in both add and remove",
         _scenario(SCENARIO.replace('values = ["retain"] }', 'values = ["retain"], add = ["s1"], remove = ["s1"] }'))),
    Case("scenario-name-reserved", "scenarios", '`name = "maps"` (a folder planner writes beside the runs)', BAD,
         "'maps' is the name of a folder planner writes beside the run folders",
         _scenario(SCENARIO.replace('name = "tiny"', 'name = "maps"'))),
    Case("scenario-names-shared", "scenarios", "two scenario files with the same `name` in one run",
         ["run", "{scenario}", "{tmp}/bad.toml", "--data", "{data}", "--out", "{out}"], "both have name = 'tiny'",
         _scenario(SCENARIO.replace("thresholds = [45]", "thresholds = [60]"))),
    Case("scenario-thresholds-twice", "thresholds", "`thresholds = [45, 45]` in a scenario", BAD,
         "thresholds 45.0 and 45.0 are the same threshold",
         _scenario(SCENARIO.replace("thresholds = [45]", "thresholds = [45, 45]"))),
    Case("scenario-thresholds-one-label", "thresholds", "`thresholds = [45, 44.9999999]` (one label, 45)", BAD,
         "both labelled 45 minutes", _scenario(SCENARIO.replace("thresholds = [45]", "thresholds = [45, 44.9999999]"))),
    # engine parameters
    Case("param-bus-speed-tiny", "engine parameters", "`--param bus_speed_kmh=1e-9`",
         [*ACCESS[:3], "--engine", "transit", "--param", "bus_speed_kmh=1e-9", "--out", "{out}"],
         "bus_speed_kmh = 1e-09 is outside its plausible range 5 to 80"),
    Case("param-bus-speed-huge", "engine parameters", "`--param bus_speed_kmh=1e9`",
         [*ACCESS[:3], "--engine", "transit", "--param", "bus_speed_kmh=1e9", "--out", "{out}"],
         "bus_speed_kmh = 1e+09 is outside its plausible range 5 to 80"),
    Case("param-crowfly-speed-huge", "engine parameters", "`--engine crowfly --param speed_kmh=1e9`",
         [*ACCESS, "--param", "speed_kmh=1e9"], "speed_kmh = 1e+09 is outside its plausible range 1 to 130"),
    Case("scenario-param-walk", "engine parameters", "`params = { walk_speed_kmh = 40 }` in a scenario", BAD,
         "walk_speed_kmh = 40 is outside its plausible range 2 to 8",
         _scenario(SCENARIO.replace('name = "crowfly"', 'name = "transit"\nparams = { walk_speed_kmh = 40 }'))),
    # options
    Case("optimise-k-too-many", "options", "`optimise --k 1000` with 3 candidates",
         ["optimise", "{scenario}", "--data", "{data}", "--k", "1000", "--out", "{out}"],
         "k = 1000 counters is more than the 3 candidates that may open"),
    # run sets
    Case("compare-different-data", "run sets", "`compare` of runs made from different copies of a file",
         ["compare", *RUNS, "--out", "{out}"],
         "were made from different copies of population/lsoa11_mid2019_population.csv", _runs("data")),
    Case("compare-demand-years", "run sets", "`compare` of runs with different demand years",
         ["compare", *RUNS, "--out", "{out}"], "differ in demand year: mid-2019 against mid-2020", _runs("year")),
    Case("report-engines", "run sets", "`report` of runs with different engine settings",
         ["report", *RUNS, "--out", "{out}", "--no-pdf"], "differ in engine: crowfly (circuity=1.3, speed_kmh=4.8) "
         "against crowfly (circuity=1.3, speed_kmh=6.0)", _runs("engine")),
    Case("compare-allow-mixed", "run sets", "`compare --allow-mixed` of runs with different demand years (stated)",
         ["compare", *RUNS, "--out", "{out}", "--allow-mixed"], "mixed runs: tiny", _runs("year"), code=0),
    Case("compare-same-run-twice", "run sets", "`compare RUN RUN`",
         ["compare", RUNS[0], RUNS[0], "--out", "{out}"], "scenario(s) ['tiny'] given more than once", _runs("none")),
    Case("maps-same-run-twice", "run sets", "`maps RUN RUN` (would rewrite a run's maps as a self-comparison)",
         ["maps", RUNS[0], RUNS[0], "--out", "{out}"], "scenario(s) ['tiny'] given more than once", _runs("none")),
    # run folders
    Case("compare-manifest-inputs-deleted", "run sets", "an input file deleted from one run's manifest",
         ["compare", *RUNS, "--out", "{out}"], "its parameters, engine or inputs were changed after the run",
         _runs("same", edit=_drop_input("population/"))),
    Case("report-manifest-costs-edited", "run folders", "scenario costs added to a run's `manifest.json` (`report`)",
         ["report", RUNS[0], "--out", "{out}", "--no-pdf"], "its parameters, engine or inputs were changed after",
         _runs("none", edit=_manifest_costs)),
    Case("report-ward-table-edited", "run folders", "a ward's mean minutes edited in `access_wards_45.csv` (`report`)",
         ["report", RUNS[0], "--out", "{out}", "--no-pdf"],
         "files differ from those the run wrote (changed: ['access_wards_45.csv'])",
         _runs("none", edit=_table("access_wards_45.csv", "mean_minutes", 95.1))),
    Case("compare-counters-edited", "run folders", "a counter's crime figure edited in `counters.csv` (`compare`)",
         ["compare", *RUNS, "--out", "{out}"], "files differ from those the run wrote (changed: ['counters.csv'])",
         _runs("same", edit=_table("counters.csv", "name", "Alpha Station"))),
    Case("report-negative-beyond", "run folders", "`beyond = -5` in `summary.json`",
         ["report", RUNS[0], "--out", "{out}", "--no-pdf"], "london.45.beyond is -5, a negative count",
         _runs("none", edit=_summary("beyond", -5))),
    Case("report-text-figure", "run folders", "a word where `summary.json` holds a number",
         ["report", RUNS[0], "--out", "{out}", "--no-pdf"], "london.45.mean_minutes is 'soon', not a finite number",
         _runs("none", edit=_summary("mean_minutes", "soon"))),
    Case("report-point-deleted", "run folders", "a row deleted from `access_points.csv`",
         ["report", RUNS[0], "--out", "{out}", "--no-pdf"], "its 2 demand points hold 4,000 residents but",
         _runs("none", edit=_points("delete"))),
    Case("compare-point-duplicated", "run folders", "a row of `access_points.csv` given twice (`compare`)",
         ["compare", *RUNS, "--out", "{out}"], "demand point(s) ['E01000002'] appear more than once",
         _runs("same", edit=_points("duplicate"))),
    Case("report-minutes-text", "run folders", "minutes that are not a number in `access_points.csv`",
         ["report", RUNS[0], "--out", "{out}", "--no-pdf"], "line 3, minutes is 'abc'",
         _runs("none", edit=_points("minutes"))),
    Case("boroughs-duplicate", "data files", "a borough given twice in `boroughs.gpkg` (`data check`)", CHECK,
         "LAD22CD ['E09000002'] appear more than once; each borough is one row", _boroughs("duplicate")),
    Case("boroughs-missing", "data files", "a borough of the ward file missing from `boroughs.gpkg` (`data check`)",
         CHECK, "1 borough(s) of the ward file are missing (E09000002)", _boroughs("missing")),
    Case("run-out-empty", "output folders", '`run --out ""` (would write into the current folder)',
         ["run", "{scenario}", "--data", "{data}", "--out", "", "--no-maps"], "Invalid value for '--out': is empty"),
    Case("stations-folder", "stations", "`access --stations` naming a folder", [*ACCESS, "--stations", "{tmp}"],
         "is a folder, not a stations file"),
    Case("access-city-borough", "options", "`access --borough \"City of London\"`",
         [*ACCESS, "--borough", "City of London"], "the City of London has its own police force"),
    Case("maps-without-matrix", "run folders", "`maps` of a run without `travel_matrix.csv` (the explorer's input)",
         ["maps", RUNS[0]], "files differ from those the run wrote (missing: ['travel_matrix.csv'])",
         _matrix("delete")),
    Case("maps-matrix-edited", "run folders", "a `travel_matrix.csv` that does not give the run's own minutes",
         ["maps", RUNS[0]], "has 999 minutes to the run's open counters, but access_points.csv says", _matrix("edit")),
    Case("maps-without-postcodes", "run folders", "`maps` of a run without `postcodes.parquet` (warns)",
         ["maps", RUNS[0]], "residents.html", _no_postcodes, code=0,
         warning="has no postcodes.parquet (it was run without maps"),
    # calibration tables
    Case("calibrate-borough-deleted", "calibration tables", "a DfT table with a borough's row deleted", CALIBRATE,
         "1 of the 32 London boroughs the calibration compares has no row: E09000007 (Camden)",
         _calibration(drop=("E09000007",))),
    Case("calibrate-text-minutes", "calibration tables", "a DfT table with a word for `HospPTt`", CALIBRATE,
         "HospPTt of E09000012 (Hackney) is 'abc', not a number",
         _calibration(values={("E09000012", "HospPTt"): "abc"})),
]  # fmt: skip


CASES += [
    # output folders: nothing planner did not write is replaced
    Case("run-over-a-foreign-folder", "output folders", "`run` into `--out` where a folder of the scenario's name "
         "is not a run", ["run", "{scenario}", "--data", "{data}", "--out", "{tmp}/mine", "--no-maps"],
         "exists and is not a run folder written by planner", _foreign_folder),
    Case("run-out-in-data", "output folders", "`--out` inside the data directory",
         ["run", "{scenario}", "--data", "{data}", "--out", "{data}/results", "--no-maps"],
         "lies inside the data directory"),
    Case("access-into-a-run", "output folders", "`access --out` naming a run folder",
         [*ACCESS[:5], "--out", RUNS[0]], "is a run folder written by `planner run`", _runs("none")),
    # populations and centroids
    Case("population-bands-disagree", "populations", "age bands that do not add up to all ages (65+ of 500,000)",
         CHECK, "add up to 500,800, not Persons_All-Ages 1,000", _pop(2, "500000", "Persons_65+")),
    Case("population-fraction", "populations", "a fractional resident count", CHECK, "is not a whole number",
         _pop(2, "1000.5")),
    Case("centroid-swapped", "populations", "a centroid with X and Y swapped", CHECK, "X and Y look swapped",
         _swap_centroid),
    Case("centroid-metres", "populations", "a centroid in metres in the degrees file", CHECK,
         "not a longitude/latitude in Great Britain (metres?", _centroid(530500, 180500)),
    # stations
    Case("stations-status-zero-width", "stations", "a status with a zero-width space (warns, read as `retain`)",
         RUN, "tiny: 1 counters", _status(2, "re\u200btain"), code=0,
         warning="invisible characters were read as their plain lower-case form: line 2 're\\u200btain'"),
    Case("stations-status-look-alike", "stations", "a status with a Cyrillic letter that looks Latin (warns)",
         CHECK, "", _status(2, "ret\u0430in"), code=0, warning="U+0430 CYRILLIC SMALL LETTER A"),
    Case("stations-crimes-negative", "stations", "a negative `daily_crimes_reported_2017`",
         [*ACCESS, "--stations", "{tmp}/bad_stations.csv", "--open", "ids=x"],
         "daily_crimes_reported_2017 is '-50', not a number from 0 to 500",
         _stations_with(daily_crimes_reported_2017=-50)),
    Case("postcode-at-zero", "stations", "a postcode at easting/northing 0, 0 (`access --postcode`)",
         [*ACCESS, "--postcode", "AA1 1AA"], "1 postcode(s) without a point in London",
         _postcodes([("AA1 1AA", 0, 0), ("AA1 1AB", X0 + 500, Y0 + 500)])),
    # scenarios
    Case("scenario-cost-infinite", "scenarios", "`annual_cost_per_counter = inf`", BAD,
         "annual_cost_per_counter: Input should be a finite number",
         _scenario(SCENARIO + "\n[costs]\nannual_cost_per_counter = inf\n")),
    Case("scenario-cost-unknown-counter", "scenarios", "`costs.by_station` naming a counter the file lacks", BAD,
         "costs.by_station: unknown station id(s) ['not-a-counter']",
         _scenario(SCENARIO + '\n[costs]\nby_station = { "not-a-counter" = 1e5 }\n')),
    Case("scenario-24-7-closed", "scenarios", "a 24/7 counter that `counters.open` closes (warns, names it)",
         [*BAD, "--no-maps"], "tiny: 1 counters",
         _scenario(SCENARIO.replace('values = ["retain"] }', 'values = ["retain"] }\n'
                                    'twenty_four_seven = { ids = ["s0", "s1"] }')),
         code=0, warning="names 1 counter(s) that counters.open does not open, so they are not counted as open "
         "24/7: ['s1']"),
    # engine parameters
    Case("param-given-twice", "engine parameters", "`--param speed_kmh=4 --param speed_kmh=40`",
         [*ACCESS, "--param", "speed_kmh=4", "--param", "speed_kmh=40"], "speed_kmh is given twice"),
    # run sets
    Case("compare-with-and-without-city", "run sets", "`compare` of a Met-area run and one with the City",
         ["compare", *RUNS, "--out", "{out}"], "differ in study area: the Met area against the Met area and the City",
         _runs("city")),
    # run folders
    Case("compare-minutes-halved", "run folders", "every minute of `access_points.csv` halved (`compare`)",
         ["compare", *RUNS, "--out", "{out}"], "its minutes give a mean of", _runs("same", edit=_halve_minutes)),
    Case("compare-counters-deleted", "run folders", "the rows of `counters.csv` deleted (`compare`)",
         ["compare", *RUNS, "--out", "{out}"], "counters.csv lists 0 counters, summary.json says 1",
         _runs("same", edit=_drop_counter_row)),
    Case("report-24-7-count", "run folders", "`counters_24_7 = 999` in `summary.json`",
         ["report", RUNS[0], "--out", "{out}", "--no-pdf"], "counters.csv has 0 counters open 24/7, summary.json "
         "says 999", _runs("none", edit=_top_summary("counters_24_7", 999))),
    Case("report-borough-table", "run folders", "`beyond` changed in `access_boroughs_45.csv`",
         ["report", RUNS[0], "--out", "{out}", "--no-pdf"], "access_boroughs_45.csv adds up to 7 beyond",
         _runs("none", edit=_edit_run_csv("access_boroughs_45.csv", 2, "beyond", "7"))),
    Case("calibrate-hospital-swapped", "calibration tables", "a hospital with easting and northing swapped",
         CALIBRATE, "ZZ001 (181000, 531500, swapped?)", _hospital_swapped),
    Case("wards-edition-mismatch", "data files", "the 2018 ward file copied over the 2014 one", CHECK,
         "has the columns of the London Datastore's 2018 ward file, not of its 2014 file", _wards_of_2018_as_2014),
    Case("report-engine-unknown", "run folders", "`manifest.json` naming an engine planner lacks",
         ["report", RUNS[0], "--out", "{out}", "--no-pdf"], "names the engine 'teleport', which planner does not have",
         _runs("none", edit=_engine_name("teleport"))),
    Case("stations-same-point", "stations", "two counters at the same point (warns, names both)",
         [*ACCESS, "--stations", "{tmp}/bad_stations.csv", "--open", "ids=x,y"], "2 open counters",
         _stations([_good(), _good(id="y", name="Y")]), code=0,
         warning="1 point(s) hold more than one station: x, y at ("),
    Case("postcode-given-twice", "options", "`--postcode` twice with the same postcode (answered once)",
         [*ACCESS, "--postcode", "AA1 1AB", "--postcode", "aa11ab"], "AA1 1AB:", code=0,
         spoil=_postcodes([("AA1 1AB", X0 + 500, Y0 + 500)]),
         warning="postcode(s) AA1 1AB given more than once are answered once"),
    Case("scenario-name-cache", "scenarios", '`name = "cache"` (the sweep\'s matrix cache folder)', BAD,
         "'cache' is the name of a folder planner writes beside the run folders",
         _scenario(SCENARIO.replace('name = "tiny"', 'name = "cache"'))),
    Case("access-threshold-seconds", "thresholds", "`access --threshold 2700` (seconds typed for minutes)",
         [*ACCESS, "--threshold", "2700"], "2700.0 minutes is 45 hours, more than the 240 minutes"),
    Case("scenario-threshold-seconds", "thresholds", "`thresholds = [2700]` in a scenario", BAD,
         "thresholds: 2700.0 minutes is 45 hours",
         _scenario(SCENARIO.replace("thresholds = [45]", "thresholds = [2700]"))),
    Case("scenario-cost-implausible", "scenarios", "`annual_cost_per_counter = 2.5e8` (a counter at £250 million)",
         BAD, "annual_cost_per_counter: Input should be less than or equal to 10000000",
         _scenario(SCENARIO + "\n[costs]\nannual_cost_per_counter = 2.5e8\n")),
    Case("compare-manifest-without-hashes", "run folders", "`outputs` deleted from `manifest.json` (`compare`)",
         ["compare", *RUNS, "--out", "{out}"], "no hashes of the run's files ('outputs')",
         _runs("same", edit=_no_hashes)),
    Case("population-lsoa-huge", "populations", "an LSOA of 1,000,000 residents (a count multiplied)", CHECK,
         "1,000,000 residents, more than the 50,000 any LSOA holds",
         _pop(2, "1000000")),
    Case("scenario-no-24-7", "scenarios", "a scenario without `counters.twenty_four_seven` (warns)",
         RUN, "tiny: 1 counters", code=0, warning="no counters.twenty_four_seven, so no counter counts as open 24/7"),
    Case("scenario-breaks-its-rules", "scenarios", "`required` naming a counter the plan closes (warns)", BAD,
         "tiny: 1 counters",
         _scenario(SCENARIO.replace('values = ["retain"] }', 'values = ["retain"] }\nrequired = ["s1"]')),
         code=0, warning="the plan breaks its own rules: counters.required ['s1'] are closed by counters.open"),
    Case("stations-status-near-miss", "stations", "one `retained` beside five `retain` in the stations file (warns)",
         [*ACCESS, "--stations", "{tmp}/near_stations.csv", "--open", "status_final_nov2017=retain"], "5 open counters",
         _near_miss_stations, code=0, warning="line 7 'retained' (like 'retain' on 5 rows)"),
    Case("maps-marginal-other-engine", "run sets", "`maps --marginal` with a sweep at another walking speed",
         ["maps", RUNS[0], "--marginal", "{tmp}/sweep"], "the sweep was made with other engine parameters (speed_kmh",
         _sweep_of_another_engine),
    Case("report-sweep-other-engine", "run sets", "`report --sweep` with a sweep at another walking speed",
         ["report", RUNS[0], "--sweep", "{tmp}/sweep", "--out", "{out}", "--no-pdf"],
         "the sweep was made with other engine parameters (speed_kmh", _sweep_of_another_engine),
    Case("sweep-grid-repeated", "options", "`sweep --kind grid --bus-speed 30,30.0` (a value twice)",
         ["sweep", "{scenario}", "--kind", "grid", "--data", "{data}", "--bus-speed", "30,30.0", "--out", "{out}"],
         "`bus_speed_kmh` (--bus-speed): 30 given more than once"),
    Case("open-ids-repeated", "options", "`--open ids=x,x`", [*ACCESS, "--open", "ids=s0,s0"],
         "names ['s0'] more than once"),
    Case("stations-id-padded", "stations", "a station id with a trailing space (warns, read without)",
         [*ACCESS, "--stations", "{tmp}/bad_stations.csv", "--open", "ids=x"], "1 open counters",
         _stations([_good(id="x ")]), code=0, warning="station id(s) with spaces around them were read without"),
    Case("postcode-in-the-city", "options", "`access --postcode` of a City of London postcode (answered, with a note)",
         [*ACCESS, "--postcode", "AA1 1AB"], "(City of London: served by the City of London Police", code=0,
         spoil=_postcodes([("AA1 1AB", X0 + 500, Y0 + 500)], lad="E09000001")),
    Case("access-threshold-hours", "thresholds", "`access --threshold 0.75` (hours typed for minutes)",
         [*ACCESS, "--threshold", "0.75"], "0.75 minutes is 45 seconds, less than any walk to a counter"),
    Case("optimise-target-fraction", "options", "`optimise --mode min-counters --target 0.99` (a fraction)",
         ["optimise", "{scenario}", "--data", "{data}", "--mode", "min-counters", "--target", "0.99", "--out", "{out}"],
         "`target_pct` (--target) 0.99 is a percentage, so 0.99% of residents"),
    Case("run-mixed-set", "run sets", "`run` of two scenarios with different demand years (nothing written)",
         ["run", "{scenario}", "{tmp}/other.toml", "--data", "{data}", "--out", "{out}"],
         "differ in demand year: mid-2019 against mid-2020",
         _scenario(_other(**{"thresholds = [45]": "thresholds = [45]\ndemand_year = 2020"}), "other.toml")),
    Case("maps-out-into-a-run", "output folders", "`maps --out` naming a run folder", ["maps", *RUNS, "--out", RUNS[0]],
         "is the run folder", _runs("same")),
    Case("run-replaces-another-file", "output folders", "a second scenario file with the name of a run already made",
         ["run", "{tmp}/copy/tiny.toml", "--data", "{data}", "--out", "{tmp}/runs", "--no-maps"],
         "holds the run of", _runs("none", edit=lambda folder: _copy_scenario(folder.parent.parent))),
    Case("compare-into-a-run", "output folders", "`compare --out` naming one of the run folders",
         ["compare", *RUNS, "--out", RUNS[0]], "is inside the run folder", _runs("same")),
    Case("param-km-for-metres", "engine parameters", "`--param max_snap_m=2` (kilometres typed for metres)",
         [*ACCESS[:-4], "--engine", "network", "--param", "max_snap_m=2", *ACCESS[-2:]],
         "max_snap_m = 2 is in metres, so 2 m is a few steps; it looks like kilometres: give max_snap_m = 2000"),
]  # fmt: skip


def _fill(arg: str, tmp: Path, data: Path, scenario: Path) -> str:
    return arg.format(tmp=tmp, data=data, out=tmp / "out", scenario=scenario)


def _plain(text: str) -> str:
    return " ".join(text.replace("│", " ").replace("╭", " ").replace("╰", " ").split())


@pytest.fixture
def tiny(tmp_path: Path) -> tuple[Path, Path]:
    data = write_tiny_data(tmp_path / "data")
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(SCENARIO)
    return data, scenario


def test_the_tiny_inputs_are_accepted(tiny, tmp_path):
    """Without a spoiled input, the same commands succeed: each case fails for its own reason."""
    data, scenario = tiny
    for args in (CHECK, ACCESS, RUN):
        result = runner.invoke(app, [_fill(a, tmp_path, data, scenario) for a in args])
        assert result.exit_code == 0, _plain(result.output)
    assert (tmp_path / "out" / "tiny" / "summary.json").is_file()


def test_catalogue_is_large_and_unique():
    assert len(CASES) >= 110
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert {c.topic for c in CASES} <= set(TOPICS)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_refused(case: Case, tiny, tmp_path, monkeypatch, caplog):
    data, scenario = tiny
    if case.data == "synthetic":
        from tests.synthetic import write_synthetic_data

        data = write_synthetic_data(tmp_path / "synthetic")
    monkeypatch.delenv("PLANNER_DATA", raising=False)
    try:
        if case.spoil is not None:
            case.spoil(tmp_path)
        result = runner.invoke(app, [_fill(a, tmp_path, data, scenario) for a in case.args])
    finally:
        if case.cleanup is not None:
            case.cleanup(tmp_path)
    output = _plain(result.output)
    assert result.exit_code == case.code, output
    assert isinstance(result.exception, SystemExit | None), repr(result.exception)
    assert "Traceback" not in result.output
    assert _plain(case.message) in output, output
    # the fix is given as the CLI's way, never as a Python keyword such as on_invalid='report'
    assert not re.search(r"\b[a-z_]+=(True|False|'[a-z]+'|\{)", output), output
    if case.warning:
        assert _plain(case.warning) in _plain(caplog.text), caplog.text
    if case.code != 0:
        assert not (tmp_path / "out").exists(), "a refused command wrote output"


# --------------------------------------------------------------------------- beyond one command line
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 0.0, -5.0])
def test_library_functions_refuse_bad_thresholds(bad, tiny, tmp_path):
    """The same rule where a threshold enters through Python, not the CLI."""
    import numpy as np
    import pandas as pd

    from planner.context import RunContext
    from planner.errors import OptionError
    from planner.optimise import choose_counters, plan_sessions, tradeoff
    from planner.proposals import propose, sessions
    from planner.sweep import run_sweep
    from planner.travel.base import TravelMatrix

    matrix = TravelMatrix(np.array([[10.0, 99.0]]), np.array(["P1"], dtype=object), np.array(["A", "B"], dtype=object))
    points = pd.DataFrame({"population": [100], "ward_name": "w", "borough_name": "b"})
    borough = pd.Series({"A": "X", "B": "X"})
    data, scenario = tiny
    ctx = RunContext(data)
    calls = [
        lambda: choose_counters(matrix, points, borough, threshold=bad, k=1),
        lambda: tradeoff(matrix, points, borough, threshold=bad),
        lambda: plan_sessions(matrix, pd.Series({"P1": 100}), pd.Series(dtype=str), threshold=bad),
        lambda: propose(scenario, out=tmp_path / "p", context=ctx, threshold=bad),
        lambda: sessions(scenario, context=ctx, threshold=bad),
        lambda: run_sweep(scenario, kind="marginal", out=tmp_path / "s", data=data, threshold=bad, serial=True),
    ]
    for call in calls:
        with pytest.raises(OptionError, match="positive, finite"):
            call()


def test_killed_runs_leftovers_are_removed(tiny, tmp_path, caplog):
    """A run killed while writing leaves .NAME-XXXXXXXX/; the next run into that --out removes it and says so."""
    data, scenario = tiny
    out = tmp_path / "out"
    leftover = out / ".tiny-k1ll3d_x"
    (leftover / "maps").mkdir(parents=True)
    (leftover / "summary.json").write_text("{}")
    (leftover / ".planner-partial").write_text("")  # the mark every staged run folder carries
    other = out / ".keep-me"  # not a run's temporary folder
    other.mkdir()
    lookalike = out / ".cache-thumbnai"  # named like a staged folder, but not planner's: it stays
    lookalike.mkdir()
    result = runner.invoke(app, ["run", str(scenario), "--data", str(data), "--out", str(out), "--no-maps"])
    assert result.exit_code == 0, _plain(result.output)
    assert not leftover.exists() and other.is_dir()
    assert "removed 1 unfinished output folder(s)" in caplog.text  # a warning: the CLI shows it
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == [".cache-thumbnai", ".keep-me", "tiny"]


def _run_process(scenario: Path, data: Path, out: Path, log=subprocess.PIPE) -> subprocess.Popen:
    import os

    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    args = [sys.executable, "-m", "planner", "run", str(scenario), "--data", str(data), "--out", str(out), "--no-maps"]
    return subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)


def test_runs_into_one_out_take_turns(tiny, tmp_path):
    """While another process writes into --out, a run waits for it (and says so) instead of failing or mixing."""
    import fcntl
    import time

    data, scenario = tiny
    out = tmp_path / "out"
    out.mkdir()
    log_path = tmp_path / "run.log"
    with open(out / ".planner.lock", "a") as lock, open(log_path, "w") as log:
        fcntl.flock(lock, fcntl.LOCK_EX)
        proc = _run_process(scenario, data, out, log)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and proc.poll() is None:
            if "another planner run is writing into" in " ".join(log_path.read_text().split()):
                break
            time.sleep(0.2)
        assert proc.poll() is None, "the run finished while another process held the output folder: " + (
            log_path.read_text()
        )
        time.sleep(1.0)
        assert proc.poll() is None and not (out / "tiny").exists()
        fcntl.flock(lock, fcntl.LOCK_UN)
        proc.wait(timeout=180)
    assert proc.returncode == 0, log_path.read_text()
    assert (out / "tiny" / "summary.json").is_file()


def test_concurrent_runs_into_one_out_both_succeed(tiny, tmp_path):
    data, scenario = tiny
    out = tmp_path / "out"
    procs = [_run_process(scenario, data, out) for _ in range(3)]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    assert (out / "tiny" / "summary.json").is_file()
    assert not [p for p in out.iterdir() if p.name.startswith(".tiny-")]


def test_proposal_with_multiline_notes_reads_back(tmp_path):
    """scenario_to_toml writes valid TOML whatever the text (it used to break on multi-line notes)."""
    from planner.scenario import Scenario, load_scenario, scenario_to_toml

    spec = Scenario.model_validate(
        {
            "name": "notes",
            "notes": 'first line\nsecond "quoted" line\n\ttab and back\\slash',
            "description": "a ''' b",
            "counters": {"open": {"ids": ["s0"]}, "required": ["s0"]},
            "costs": {"annual_cost_per_counter": 250000, "by_station": {"s0": 1.5}},
        }
    )
    path = tmp_path / "notes.toml"
    path.write_text(scenario_to_toml(spec, header="Proposed by a test.\nSecond header line."))
    assert load_scenario(path) == spec
    assert path.read_text().startswith("# Proposed by a test.\n# Second header line.\n")


def test_every_data_file_can_be_fetched_or_its_source_is_named(tmp_path):
    """Each file a DataPaths error can ask for is in the fetch manifest; without a download, the message names the
    publisher's page and the mirror route instead of a `planner data fetch` that would skip it."""
    from planner.config import DataPaths, where_to_get
    from planner.datasets import load_manifest
    from planner.errors import DataDirError

    sources = {s.dest: s for s in load_manifest()}
    paths = DataPaths(tmp_path)
    asked = [
        lambda: paths.wards(2014),
        lambda: paths.wards(2018),
        lambda: paths.boroughs,
        lambda: paths.centroids,
        lambda: paths.population(2019),
        lambda: paths.population(2020),
        lambda: paths.stations,
        lambda: paths.bus_stops,
        lambda: paths.rail_graph,
        lambda: paths.crime,
    ]
    for ask in asked:
        with pytest.raises(DataDirError) as info:
            ask()
        message = str(info.value)
        rel = message.removeprefix("Missing ").split(" in data directory")[0]
        assert rel in sources, f"{rel} is not in the fetch manifest"
        src = sources[rel]
        assert f"planner data fetch --dest {tmp_path} --name {src.name}" in message
        if not src.url:
            assert src.page in message and "--base-url" in message and "no public download" in message
        assert where_to_get(rel, tmp_path) in message


# --------------------------------------------------------------------------- the README section
START, END = "<!-- refusals: generated by `python -m tests.test_refusals --readme` -->", "<!-- /refusals -->"


def readme_section() -> str:
    """The README's "What `planner` refuses and why" section, from the catalogue."""
    lines = [
        START,
        "## What `planner` refuses and why",
        "",
        "A planner acts on these figures, so a bad input stops the command with a clear message (exit code 2,",
        "no traceback) that names the file, line, field or option and how to fix it. Nothing is computed or",
        "written first. Where the input is still usable (a status written `Retain `, a file saved as Latin-1),",
        "it is read correctly and a warning counts and names what was repaired. Each of these",
        f"{len(CASES)} cases ({sum(c.code == 0 for c in CASES)} of them read correctly) is checked by "
        "`tests/test_refusals.py`:",
        "",
    ]
    for topic, why in TOPICS.items():
        labels = [c.label for c in CASES if c.topic == topic]
        if labels:
            lines.append(f"- **{topic.capitalize()}** ({why}): {'; '.join(labels)}.")
    lines += ["", END]
    return "\n".join(lines)


def test_readme_lists_the_catalogue():
    text = README.read_text()
    found = re.search(re.escape(START) + r".*?" + re.escape(END), text, flags=re.S)
    fix = "run `python -m tests.test_refusals --readme`"
    assert found, f"README.md has no refusals section; {fix}"
    assert found.group(0) == readme_section(), f"README.md's refusals section disagrees with the catalogue; {fix}"


def _write_readme() -> None:
    text = README.read_text()
    section = readme_section()
    pattern = re.escape(START) + r".*?" + re.escape(END)
    if re.search(pattern, text, flags=re.S):
        text = re.sub(pattern, lambda _m: section, text, flags=re.S)
    else:
        text = text.replace("\n## Methods and their limits", "\n" + section + "\n\n## Methods and their limits", 1)
    README.write_text(text)


if __name__ == "__main__":
    if "--readme" in sys.argv:
        _write_readme()
    else:
        print(readme_section())


def test_a_run_with_many_counters_searches_instead_of_building_a_matrix(tiny, tmp_path, monkeypatch, caplog):
    """With more stations than a matrix needs, `planner run` searches from its open counters (as `access` does):
    the same minutes, at the cost of one search whatever the file's size."""
    import logging

    import planner.run
    from planner.context import RunContext
    from planner.run import run_scenario

    data, scenario = tiny
    by_matrix = run_scenario(scenario, out=tmp_path / "matrix", data=data, maps=False)
    monkeypatch.setattr(planner.run, "MATRIX_MAX_STATIONS", 0)
    with caplog.at_level(logging.INFO, logger="planner.run"):
        by_search = run_scenario(scenario, out=tmp_path / "search", context=RunContext(data), maps=False)
    assert "searching from each run's open counters, without a matrix" in caplog.text
    assert by_search.points["minutes"].tolist() == by_matrix.points["minutes"].tolist()
    assert by_search.beyond_24_7 == by_matrix.beyond_24_7


def test_compare_refuses_a_mixed_scenario_file_before_running_it(tiny, tmp_path):
    """`compare RUN other.toml` with another demand year: refused before other.toml is run, so no folder is
    written; with --allow-mixed it runs and the difference is stated."""
    data, _ = tiny
    _run(tmp_path, SCENARIO)
    other = tmp_path / "other.toml"
    other.write_text(_other(**{"thresholds = [45]": "thresholds = [45]\ndemand_year = 2020"}))
    args = [
        "compare",
        str(tmp_path / "runs" / "tiny"),
        str(other),
        "--data",
        str(data),
        "--out",
        str(tmp_path / "runs"),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "differ in demand year: mid-2019 against mid-2020" in _plain(result.output)
    assert "`allow_mixed` (--allow-mixed)" in _plain(result.output)
    assert not (tmp_path / "runs" / "other").exists()
    result = runner.invoke(app, [*args, "--allow-mixed"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "runs" / "other" / "summary.json").is_file()
