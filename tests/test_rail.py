"""National Rail (ATOC CIF) and Tramlink in the transit engine: hand-solved toys, the real timetable, bad inputs."""

from __future__ import annotations

import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest

from planner.errors import DataError, PlannerWarning
from planner.travel import TransitParams, TransitTimes
from planner.travel.cif import read_cif
from planner.travel.tram import TRAM_ROUTES, read_tramlink
from planner.travel.transit_data import TransitData
from tests.cif_toy import Station, Train, schedule, write_cif
from tests.test_transit import EASY, FAR, NO_RAIL, minutes, rail, routes

# Stations 3 km apart along a line (inside the London box); walking is 100 m/min in EASY, so no walk competes.
X0, Y0 = 530_000.0, 180_000.0
A, B, C, D = (Station(n, n + "TIP", n * 3, X0 + 3000 * i, Y0, change_min=4) for i, n in enumerate("ABCD"))
E = Station("E", "ETIP", "EEE", X0 + 3000, Y0 + 4000, change_min=4)
XY = {s.crs: (s.x, s.y) for s in (A, B, C, D, E)}
ANYWHERE = (0.0, 0.0, 1e7, 1e7)
# a 10-minute headway: a lone pattern's wait is 5 minutes
TRAINS = {**EASY, "nr_headway_min": 10.0, "headway_wait_share": 0.5, "trams": False}
FAR_BUS = routes(("1", [(FAR, FAR), (FAR + 1000, FAR)]))

STOPPING = Train(
    "S00001",
    (
        ("ATIP", "", "0800", True),
        ("BTIP", "0805", "0806", True),
        ("CTIP", "0811", "0812", True),
        ("DTIP", "0817", "", True),
    ),
)
EXPRESS = Train(
    "X00001",
    (("ATIP", "", "0830", True), ("BTIP", "", "0833", False), ("CTIP", "", "0836", False), ("DTIP", "0840", "", True)),
)


def rail_engine(tmp_path, trains, *, stations=(A, B, C, D, E), tube=NO_RAIL, links=(), **read) -> TransitTimes:
    path = write_cif(tmp_path / "toy.zip", list(stations), list(trains), links=links)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlannerWarning)
        patterns = read_cif(path, bounds=ANYWHERE, **read)
    st, ln = tube
    data = TransitData(np.empty((0, 2)), st, ln, FAR_BUS, rail=patterns)
    return TransitTimes(data, TransitParams().with_overrides(**TRAINS))


def test_an_express_pattern_skips_stations(tmp_path):
    eng = rail_engine(tmp_path, [STOPPING, EXPRESS])
    # A -> D: the express, wait 5 + 08:30 to 08:40; the stopping train would be 5 + 17
    assert minutes(eng, XY["AAA"], XY["DDD"]) == pytest.approx(15.0)
    # A -> C: the express passes C, so the stopping train: wait 5 + 08:00 to 08:11 (the minute at B included)
    assert minutes(eng, XY["AAA"], XY["CCC"]) == pytest.approx(16.0)


def test_a_ride_on_one_pattern_is_the_cif_run_time_plus_the_wait(tmp_path):
    eng = rail_engine(tmp_path, [STOPPING])
    # B departs 08:06, C arrives 08:11: 5 minutes of run time, plus a 5-minute wait
    assert minutes(eng, XY["BBB"], XY["CCC"]) == pytest.approx(10.0)


def test_a_change_pays_the_minimum_change_time_and_the_next_wait(tmp_path):
    to_b = Train("P00001", (("ATIP", "", "0800", True), ("BTIP", "0806", "", True)))
    to_e = Train("P00002", (("BTIP", "", "0900", True), ("ETIP", "0907", "", True)))
    eng = rail_engine(tmp_path, [to_b, to_e])
    # wait 5 + ride 6 + B's minimum change time 4 + wait 5 + ride 7
    assert minutes(eng, XY["AAA"], XY["EEE"]) == pytest.approx(27.0)


def test_a_sunday_only_pattern_is_not_used_on_a_weekday(tmp_path):
    sunday = Train(
        "Z00001",
        (("ATIP", "", "0930", True), ("DTIP", "0938", "", True)),
        days="0000001",
    )
    weekday = rail_engine(tmp_path, [STOPPING, sunday])
    assert minutes(weekday, XY["AAA"], XY["DDD"]) == pytest.approx(22.0)  # wait 5 + 17: the stopping train
    on_sunday = rail_engine(tmp_path, [STOPPING, sunday], day="sunday")
    assert minutes(on_sunday, XY["AAA"], XY["DDD"]) == pytest.approx(13.0)  # wait 5 + 8


def test_other_days_stand_in_only_where_the_day_has_no_call(tmp_path):
    """A station with no weekday call (E) gets the Sunday train as a stand-in, counted; without it, no train."""
    sunday = Train("Z00002", (("BTIP", "", "0930", True), ("ETIP", "0937", "", True)), days="0000001")
    path = write_cif(tmp_path / "toy.zip", [A, B, C, D, E], [STOPPING, sunday])
    with pytest.warns(PlannerWarning, match=r"1 station\(s\) in the area have no departure or no arrival on weekd.*"):
        patterns = read_cif(path, bounds=ANYWHERE)
    assert (patterns.patterns["headway_source"] == "other day").sum() == 1
    strict = read_cif(path, bounds=ANYWHERE, other_days=False)
    assert len(strict.patterns) == 1


def test_a_national_rail_to_tube_change(tmp_path):
    # the tube's "B" stands 600 m from the National Rail B: one station by name (<= 800 m); its line runs 8 min
    tube = rail({"B": (X0 + 3000, Y0 + 600), "Tube End": (X0 + 3000, Y0 + 20_000)}, [("B", "Tube End", "T", 8.0)])
    to_b = Train("P00001", (("ATIP", "", "0800", True), ("BTIP", "0806", "", True)))
    eng = rail_engine(tmp_path, [to_b], tube=tube)
    # wait 5 + ride 6 + walk 600 m (6 min, above station_link_min) + tube wait 4 + ride 8
    assert minutes(eng, XY["AAA"], (X0 + 3000, Y0 + 20_000)) == pytest.approx(29.0)


def test_the_cifs_walk_link_to_the_underground_joins_the_tube(tmp_path):
    """The MSN's Underground entry (a Z.. code) and the FLF walk to it: a published change to the tube graph
    where neither distance (1 km) nor name would join them."""
    entry = Station("B Und", "BUND", "ZBB", X0 + 3000, Y0 + 1000)
    tube = rail(
        {"Tube B": (X0 + 3000, Y0 + 1000), "Tube End": (X0 + 3000, Y0 + 20_000)}, [("Tube B", "Tube End", "T", 8.0)]
    )
    to_b = Train("P00001", (("ATIP", "", "0800", True), ("BTIP", "0806", "", True)))
    eng = rail_engine(tmp_path, [to_b], stations=(A, B, C, D, E, entry), tube=tube, links=(("BBB", "ZBB", 2),))
    assert len(eng.data.rail.interchanges) == 1 and "ZBB" not in set(eng.data.rail.unserved["stop_id"])
    # wait 5 + ride 6 + the published 2-minute walk + tube wait 4 + ride 8
    assert minutes(eng, XY["AAA"], (X0 + 3000, Y0 + 20_000)) == pytest.approx(25.0)


def test_fixed_walk_links_of_the_cif_join_stations(tmp_path):
    to_b = Train("P00001", (("ATIP", "", "0800", True), ("BTIP", "0806", "", True)))
    from_e = Train("P00002", (("ETIP", "", "0900", True), ("DTIP", "0910", "", True)))
    eng = rail_engine(tmp_path, [to_b, from_e], links=(("BBB", "EEE", 2),))
    # wait 5 + ride 6, the 2-minute walk link B -> E (the link is the change: no change time on top), wait 5, ride 10
    assert minutes(eng, XY["AAA"], XY["DDD"]) == pytest.approx(28.0)


def test_switching_a_mode_on_needs_its_data(tmp_path):
    from planner.errors import EngineError

    eng = rail_engine(tmp_path, [STOPPING])
    off = TransitTimes(TransitData(eng.data.bus_stops, eng.data.stations, eng.data.links, FAR_BUS), eng.params)
    off = off.with_params(national_rail=False)
    with pytest.raises(EngineError, match=r"national_rail=True: this engine was built without its data"):
        off.with_params(national_rail=True)


def test_national_rail_off_gives_the_engine_of_before(tmp_path):
    eng = rail_engine(tmp_path, [STOPPING, EXPRESS])
    off = TransitTimes(eng.data, eng.params.with_overrides(national_rail=False))
    assert np.isnan(minutes(off, XY["AAA"], XY["DDD"]))  # no bus, no tube, 9 km: nothing reaches D


# --- bad inputs -------------------------------------------------------------------------------------------


def test_a_truncated_cif_is_refused(tmp_path):
    lines = ["HD".ljust(80), *schedule(STOPPING)[:-1]]  # cut inside the schedule, no ZZ trailer
    path = write_cif(tmp_path / "cut.zip", [A, B, C, D], [], mca_lines=lines)
    with pytest.raises(DataError, match=r"truncated.*without its ZZ trailer.*download the timetable again"):
        read_cif(path, bounds=ANYWHERE)


def test_a_record_of_the_wrong_length_skips_its_schedule_counted(tmp_path):
    good = schedule(STOPPING)
    bad = schedule(EXPRESS)
    bad[2] = bad[2][:79]  # one LI record a character short
    lines = ["HD".ljust(80), *good, *bad, "ZZ".ljust(80)]
    path = write_cif(tmp_path / "short.zip", [A, B, C, D], [], mca_lines=lines)
    with pytest.warns(PlannerWarning, match=r"1 record\(s\) not 80 characters long \(the first at line 10\).*1 sched"):
        patterns = read_cif(path, bounds=ANYWHERE, other_days=False)
    assert len(patterns.patterns) == 1  # the stopping train only


def test_a_zip_without_its_station_file_is_refused(tmp_path):
    path = write_cif(tmp_path / "nomsn.zip", [A, B], [STOPPING], with_msn=False)
    with pytest.raises(DataError, match=r"no \.msn file \(master station names\)"):
        read_cif(path, bounds=ANYWHERE)


def test_a_station_without_a_grid_reference_is_a_counted_skip(tmp_path):
    nowhere = Station("C", "CTIP", "CCC", 0.0, 0.0)
    path = write_cif(tmp_path / "nogrid.zip", [A, B, nowhere, D], [STOPPING])
    patterns = read_cif(path, bounds=ANYWHERE)
    assert any("1 station(s) without a grid reference" in n for n in patterns.notes)
    assert any("public call(s) at TIPLOCs with no located MSN station skipped (CTIP" in n for n in patterns.notes)
    assert "CCC" not in set(patterns.stops["stop_id"])


def test_a_schedule_with_one_call_is_a_counted_skip(tmp_path):
    one = Train("O00001", (("ATIP", "", "0800", True), ("BTIP", "", "0805", False), ("CTIP", "0811", "", False)))
    path = write_cif(tmp_path / "one.zip", [A, B, C, D], [STOPPING, one])
    with pytest.warns(PlannerWarning, match=r"1 passenger train\(s\) with fewer than two public calls skipped"):
        patterns = read_cif(path, bounds=ANYWHERE)
    assert len(patterns.patterns) == 1


def test_a_tram_link_to_an_unknown_stop_is_refused(tmp_path):
    (tmp_path / "tram_stops.csv").write_text("id,name,lat,lon\nT1,Wimbledon (Tram),51.42,-0.20\n")
    (tmp_path / "tram_links.csv").write_text("segment_id,from_id,to_id,track_km,straight_km\nS1,T1,T9,0.5,0.47\n")
    with pytest.raises(DataError, match=r"tram_links.csv, line 2, to_id: link S1 names stop 'T9'"):
        read_tramlink(tmp_path)


# --- the real timetable and tram data ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_rail(data_dir):
    from planner.config import DataPaths

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlannerWarning)
        return read_cif(DataPaths(data_dir).rail_timetable)


def _pattern_minutes(patterns, a: str, b: str) -> list[float]:
    """Timetabled minutes from station ``a`` to ``b`` on every pattern that calls at both in that order."""
    codes = patterns.stops["stop_id"].to_numpy()
    out = []
    for _, calls in patterns.calls.groupby("pattern"):
        seq = list(codes[calls["stop"].to_numpy()])
        if a in seq and b in seq and seq.index(a) < seq.index(b):
            i, j = seq.index(a), seq.index(b)
            run = calls["run_min"].to_numpy()[i + 1 : j + 1].sum()
            dwell = calls["dwell_min"].to_numpy()[i + 1 : j].sum()
            out.append(float(run + dwell))
    return out


@pytest.mark.data
@pytest.mark.parametrize(("a", "b", "timetable"), [("HYS", "CHX", 43), ("VIC", "CLJ", 6), ("WAT", "VXH", 4)])
def test_real_journeys_match_the_timetable(real_rail, a, b, timetable):
    """The data README's checks: Hayes - Charing Cross 43 min, Victoria - Clapham Junction 6, Waterloo - Vauxhall 4."""
    found = _pattern_minutes(real_rail, a, b)
    assert found, f"no pattern from {a} to {b}"
    assert np.median(found) == pytest.approx(timetable, abs=1.0)


@pytest.mark.data
def test_the_real_cif_agrees_with_the_mirrors_derived_tables(real_rail, data_dir):
    """Stations and links of the reader against the mirror's own derived tables (a cross-check, not an input)."""
    derived = pd.read_csv(data_dir / "transit" / "national_rail" / "rail_stations_2020.csv")
    ours = set(real_rail.stops["stop_id"])
    gla = set(derived.loc[derived["in_gla"] == 1, "crs"].dropna())
    assert len(gla - ours) <= 20  # the derived tables read every day; the reader weekdays (with stand-ins)
    # Bromley North and Sundridge Park (the Grove Park branch) and Sudbury & Harrow Road: no call in the sample
    assert {"BMN", "SUP", "SUD"} <= set(real_rail.unserved["stop_id"])
    assert not {"BMN", "SUP", "SUD"} & ours


@pytest.mark.data
def test_real_engine_hayes_to_charing_cross(data_dir, transit_engine):
    from planner.config import DataPaths

    st = transit_engine.data.rail.stops.set_index("stop_id")
    hayes, chx = st.loc["HYS", ["x", "y"]], st.loc["CHX", ["x", "y"]]
    got = minutes(transit_engine, tuple(hayes), tuple(chx))
    assert 43 < got <= 43 + 20  # the train plus a wait of at most the default headway's share
    assert DataPaths(data_dir).rail_timetable.name.endswith(".zip")
    gaps = [n for n in transit_engine.data.notes if "Greater London station(s) have no train" in n]
    assert gaps and "Bromley North (BMN)" in gaps[0] and "Sundridge Park (SUP)" in gaps[0]
    assert "Baker Street Und" not in gaps[0] and "Heathrow T2 Bus" not in gaps[0]  # no rail stations


@pytest.mark.data
def test_both_switches_off_with_the_earlier_bus_wait_give_the_figure_of_before(london):
    """The README: national_rail = false, trams = false and bus_wait_min = 11 give the engine of before."""
    from planner.assess import assess
    from planner.stations import select_counters
    from planner.travel import make_engine

    counters = select_counters(london.stations, "status_final_nov2017=retain,new")
    before = make_engine(
        "transit", data=london.paths, params={"national_rail": False, "trams": False, "bus_wait_min": 11.0}
    )
    assert before.data.rail is None and before.data.trams is None  # neither file is read
    assert int(assess(london.study_demand, counters, before).london.iloc[0].beyond) == 290_037


@pytest.mark.data
def test_real_tramlink_runs_wimbledon_to_east_croydon_in_about_25_minutes(data_dir):
    trams = read_tramlink(data_dir / "transit" / "tramlink")
    assert len(trams.stops) == 39
    p = TransitParams()
    names = trams.stops["name"].to_numpy()
    route = trams.patterns.index[trams.patterns["name"] == "Wimbledon - Beckenham Junction"][0]
    calls = trams.calls.loc[trams.calls["pattern"] == route]
    seq = list(names[calls["stop"].to_numpy()])
    upto = seq.index("East Croydon")
    ride = calls["ride_m"].to_numpy()[1 : upto + 1] / (p.tram_speed_kmh * 1000 / 60)
    dwell = p.tram_dwell_min * calls["board"].to_numpy()[1:upto].sum()
    assert 20 <= ride.sum() + dwell <= 30
    # the one-way loop: towards East Croydon via West Croydon, back via George Street
    assert "West Croydon (Tram)" in seq[:upto] and "George Street" not in seq[:upto]
    back = trams.patterns.index[trams.patterns["name"] == "Beckenham Junction - Wimbledon"][0]
    back_seq = list(names[trams.calls.loc[trams.calls["pattern"] == back, "stop"].to_numpy()])
    assert "George Street" in back_seq and "West Croydon (Tram)" not in back_seq
    assert set(TRAM_ROUTES) == set(trams.patterns["name"])


def test_cif_zip_member_names_are_found_whatever_their_case(tmp_path):
    path = write_cif(tmp_path / "toy.zip", [A, B, C, D], [STOPPING])
    upper = tmp_path / "upper.zip"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(upper, "w") as dst:
        for name in src.namelist():
            dst.writestr(name.upper(), src.read(name))
    assert len(read_cif(upper, bounds=ANYWHERE).patterns) == 1


def test_a_zip_without_its_flf_is_said(tmp_path):
    """The second hostile pass: a CIF zip with its .flf removed gave 132,678 beyond instead of 126,920, silently."""
    path = write_cif(tmp_path / "toy.zip", [A, B, C, D, E], [STOPPING], links=(("ATIP", "BTIP", 5),), with_flf=False)
    notes = read_cif(path, bounds=ANYWHERE).notes
    assert any("holds no .flf file: the fixed walk links between stations (FLF) are not used" in n for n in notes)
    full = write_cif(tmp_path / "full.zip", [A, B, C, D, E], [STOPPING], links=(("ATIP", "BTIP", 5),))
    assert not any(".flf" in n for n in read_cif(full, bounds=ANYWHERE).notes)
