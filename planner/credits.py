"""The attribution lines every map and report carries: one place for the wording the licences require.

The README's "Data, licences and attribution" section lists each source's licence; these are the
lines shown for them.  Maps show :data:`ATTRIBUTION` (and :data:`POSTCODE_ATTRIBUTION` beside the
postcode search); the report prints :func:`report_attribution` and stamps :data:`MAP_CREDIT` on each
static map.
"""

from __future__ import annotations

__all__ = [
    "ATTRIBUTION",
    "CALIBRATION_ATTRIBUTION",
    "MAP_CREDIT",
    "POSTCODE_ATTRIBUTION",
    "POSTCODE_CREDIT",
    "report_attribution",
]

#: The attribution lines of the data every map and report draws on.
ATTRIBUTION: tuple[str, ...] = (
    "Contains National Statistics data © Crown copyright and database right 2014/2018/2022; "
    "Contains OS data © Crown copyright and database right (Open Government Licence v3.0).",
    "Source: Office for National Statistics licensed under the Open Government Licence v.3.0.",
    "Powered by TfL Open Data. Contains OS data © Crown copyright and database rights.",
    "Metropolitan Police Service, via London Datastore (OGL).",
    "© OpenStreetMap contributors (ODbL 1.0).",
    "Counter coordinates also contain Royal Mail data © Royal Mail copyright and database right.",
    "Contains Rail Delivery Group timetable data.",
    "Tramlink stops: Oliver O'Brien (CC BY-NC), from TfL and OpenStreetMap data.",
)

#: Code-Point Open's required statement (the postcode search and the report).
POSTCODE_CREDIT = (
    "Postcodes: Contains OS data © Crown copyright and database right 2025; Contains Royal Mail data "
    "© Royal Mail copyright and database right 2025; Contains National Statistics data © Crown "
    "copyright and database right 2025"
)

#: The line beside the resident map's postcode search.
POSTCODE_ATTRIBUTION = f"{POSTCODE_CREDIT} (Code-Point Open)."

#: DfT's and NHS Choices' statement, for the calibration the report's methods describe.
CALIBRATION_ATTRIBUTION = (
    "Calibration: Source: Department for Transport, Journey Time Statistics (OGL v3.0); "
    "contains NHS Choices data (OGL)."
)

#: The short credit printed on every static map of the report.
MAP_CREDIT = (
    "Contains National Statistics and OS data © Crown copyright and database right 2014-2022 (OGL v3). "
    "Powered by TfL Open Data.\n"
    "Counter locations contain Royal Mail data © Royal Mail copyright and database right. © OpenStreetMap contributors."
)


def report_attribution() -> list[str]:
    """The report's attribution lines: the maps' lines, the postcodes' and the calibration's.

    Returns
    -------
    list of str
        One line per source.
    """
    return [*ATTRIBUTION, f"{POSTCODE_CREDIT}.", CALIBRATION_ATTRIBUTION]
