"""Interactive maps: access, scenario change, hubs, the resident view, the scenario explorer and folium maps.

Every page is built from a run folder read through :func:`planner.runfolder.read_run_outputs`, so
``planner maps RUN_DIR`` and ``planner run`` give the same maps.

Modules: :mod:`~planner.maps.write` (:func:`write_maps`, :func:`write_change_map`),
:mod:`~planner.maps.page` (what every page shares: Leaflet, bands, GeoJSON, the template),
:mod:`~planner.maps.layers` (counters, wards, hubs, groups), :mod:`~planner.maps.resident` (the
plain-words answers and the postcode search), :mod:`~planner.maps.explorer` (the scenario explorer) and
:mod:`~planner.maps.notebook` (:func:`explore`, folium maps for analysts).
"""

from planner.maps.explorer import EXPLORER_FILE, explorer_data, write_explorer
from planner.maps.layers import GROUP_COLOURS, default_group
from planner.maps.notebook import LAYERS, explore
from planner.maps.page import BANDS, CHANGE_BANDS, LEAFLET_VERSION, SIMPLIFY_M, TILES
from planner.maps.write import write_change_map, write_maps

__all__ = [
    "BANDS",
    "CHANGE_BANDS",
    "EXPLORER_FILE",
    "GROUP_COLOURS",
    "LAYERS",
    "LEAFLET_VERSION",
    "SIMPLIFY_M",
    "TILES",
    "default_group",
    "explore",
    "explorer_data",
    "write_change_map",
    "write_explorer",
    "write_maps",
]
