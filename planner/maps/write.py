"""Interactive maps (Leaflet from a Jinja2 page template): access, scenario change, hubs and a resident view.

Maps are built from a run folder's files, so ``planner maps RUN_DIR`` and
``planner run`` give the same maps.  With ``offline=True`` (the default) every
script and stylesheet is embedded (Leaflet from the XStatic-Leaflet package),
so a map opens with no network at all; street tiles are added only when a
probe tile actually loads within a few seconds, otherwise the map keeps a
plain background.  Every text from a data file is escaped: the data travels as
one JSON block (with ``<`` escaped, so no text can close the script element)
and the page sets it with ``textContent``.  The same inputs give a
byte-identical page.

Why a plain Jinja2 template and not folium: every layer, legend, search box
and popup is built by our own script (``_map/map.js``) from one JSON block, so
that all data-file text is rendered as text and the resident view can share
data between its parts.  folium was only an empty page shell; using it meant
setting its private ``_id`` (its element ids are random, which breaks
byte-identical output) and rewriting its rendered ``<script>`` tags to inline
Leaflet, both of which break on a folium upgrade.  Rebuilding the layers with
folium's public API (``GeoJson``, ``LayerControl``, branca legends) would
split the page into many generated scripts, each with its own escaping, and
still not give us the search and answer panel.  A ~40-line template
(``_map/page.html``, rendered by Jinja2 with autoescaping) says exactly what
the page contains: ``lang``, ``<title>``, a viewport that allows zoom, an
``<h1>``, a ``<main>`` landmark, the inlined Leaflet and our script.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

from planner.errors import DataError, PlannerWarning
from planner.maps.explorer import write_explorer_of
from planner.maps.layers import _counters, _group_layer, _hub_data, _hubs_of, _marginal, _ward_geo
from planner.maps.page import CHANGE_BANDS, _bands, _values, _write
from planner.maps.resident import _postcode_block, _summaries
from planner.runfolder import MATRIX_FILE, MATRIX_MAX_STATIONS, RunIdentity, RunOutputs, check_run_set, read_run_outputs
from planner.travel import engine_words

__all__ = ["write_change_map", "write_maps"]

logger = logging.getLogger(__name__)


def write_maps(
    run_dir: str | os.PathLike[str],
    *,
    reference_dir: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    offline: bool = True,
    marginal: str | os.PathLike[str] | None = None,
    group: str | None = None,
) -> list[Path]:
    """Write the access, hub and resident maps of a run.

    Parameters
    ----------
    run_dir
        A run folder written by ``planner run``.
    reference_dir
        Another run (e.g. the baseline): counters open there and not here
        are drawn as closing, and the resident view says what changes.
    out
        Folder for the maps (default ``run_dir/maps``).
    offline
        Embed every script and stylesheet.
    marginal
        ``critical_counters.csv`` of a marginal sweep (``planner sweep
        --kind marginal``): the access map gets a layer of each counter's
        marginal value.
    group
        The equality group (a key of :data:`planner.equality.GROUPS`) whose residents beyond the
        threshold, by ward, the access map offers as a layer to switch on (default: the group with
        the largest disproportion ratio, see :func:`default_group`).

    Returns
    -------
    list of Path
        ``access.html``, ``residents.html``, ``hubs.html`` when the run has a hub plan, and the scenario
        explorer ``explorer.html`` (see :mod:`planner.maps.explorer`).
    """
    run = read_run_outputs(run_dir, matrix=(Path(run_dir) / MATRIX_FILE).is_file())  # checked, every file's hash
    reference = read_run_outputs(reference_dir) if reference_dir else None
    folder = Path(out) if out else run.folder / "maps"
    folder.mkdir(parents=True, exist_ok=True)
    wards, boroughs = _ward_geo(run)
    words = engine_words(run.engine)
    common = {
        "wards": wards,
        "boroughs": boroughs,
        "bands": _bands(),
        "threshold": run.threshold,
        "engine": words,
        "counters": _counters(run, reference),
        "values": _values(run),
    }
    written = []
    access = {
        **common,
        "kind": "access",
        "title": f"{run.scenario.name}: travel time to the nearest open front counter ({words})",
    }
    if marginal is not None:
        access["marginal"] = _marginal(run, marginal)
    layer = _group_layer(run, group)
    if layer is not None:
        access["group_layer"] = layer
    written.append(_write(folder / "access.html", access, offline))
    residents = {
        **common,
        "kind": "residents",
        "summaries": _summaries(run, reference, common["counters"]),
        "hub_lines": {k: v["line"] for k, v in _hubs_of(run).items()},
        "title": "How far is your nearest police front counter?",
        "threshold_words": {"within": f"{run.threshold:g} minutes or less", "beyond": f"more than {run.threshold:g}"},
        "has_today": reference is not None,  # ward answers; postcode answers say in their fields
    }
    block = _postcode_block(run, reference, common["counters"])
    if block is not None:
        residents["postcodes"] = block
    written.append(_write(folder / "residents.html", residents, offline))
    if run.hubs is not None:
        written.append(_write(folder / "hubs.html", _hub_data(run, boroughs), offline))
    written += _explorer(run, reference, folder, offline)
    return written


def _explorer(run: RunOutputs, reference: RunOutputs | None, folder: Path, offline: bool) -> list[Path]:
    """The scenario explorer, unless the run searched without a matrix (a stations file of many rows)."""
    if not (run.folder / MATRIX_FILE).is_file():
        message = (
            f"{run.folder}: no scenario explorer: the stations file has {len(run.stations)} rows (more than "
            f"{MATRIX_MAX_STATIONS}), so the run searched from its open counters and wrote no travel-time matrix"
        )
        warnings.warn(message, PlannerWarning, stacklevel=3)
        logger.warning(message)
        return []
    return [write_explorer_of(run, reference, out=folder, offline=offline)]


def write_change_map(
    run_dirs: list[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    offline: bool = True,
    allow_mixed: bool = False,
) -> Path:
    """A map with each scenario as a layer and the change from the first to the last.

    Parameters
    ----------
    run_dirs
        Run folders; the first is the reference.
    out
        The HTML file to write.
    offline
        Embed every script and stylesheet.
    allow_mixed
        Map runs made from different data, demand years or engines (the title says so) instead of refusing
        them (see :func:`planner.runfolder.check_run_set`).
    """
    runs = [read_run_outputs(d) for d in run_dirs]  # checked, with every file's hash
    if len(runs) < 2:
        raise DataError("a change map needs at least two runs")
    identities = [RunIdentity.from_manifest(r.folder, r.manifest) for r in runs]
    differences = check_run_set(identities, allow_mixed=allow_mixed)
    first, last = runs[0], runs[-1]
    wards, boroughs = _ward_geo(last)
    before, after = _values(first), _values(last)
    change = {}
    for code, v in after.items():
        b = before.get(code, {}).get("minutes")
        a = v["minutes"]
        change[code] = {"before": b, "after": a, "change": None if a is None or b is None else round(a - b, 3)}
    data = {
        "kind": "change",
        "title": f"Change in travel time: {first.scenario.name} \u2192 {last.scenario.name}"
        + (" (runs made from different data or engines)" if differences else ""),
        "wards": wards,
        "boroughs": boroughs,
        "bands": _bands(),
        "threshold": last.threshold,
        "scenarios": [{"name": r.scenario.name, "values": _values(r)} for r in runs],
        "change": change,
        "reference": first.scenario.name,
        "proposal": last.scenario.name,
        "change_bands": [{"upto": u, "color": c, "label": label} for u, c, label in CHANGE_BANDS],
        "counters": _counters(last, first),
        "engine": engine_words(last.engine),
    }
    return _write(Path(out), data, offline)
