"""Write small ATOC CIF timetable zips for tests (invented stations and trains, in the publisher's format)."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Station:
    name: str
    tiploc: str
    crs: str
    x: float  # EPSG:27700 metres (written to the MSN's 100 m grid)
    y: float
    change_min: int = 5


@dataclass(frozen=True)
class Train:
    uid: str
    #: (tiploc, arrival "HHMM" or "", departure "HHMM" or "", public call?) in order
    calls: tuple[tuple[str, str, str, bool], ...]
    days: str = "1111100"
    start: str = "200101"
    end: str = "201231"
    stp: str = "P"
    operator: str = "SE"
    status: str = "P"
    category: str = "OO"


def msn_record(s: Station) -> str:
    east = f"{round(s.x / 100) + 10000:05d}" if s.x else "00000"
    north = f"{round(s.y / 100) + 60000:05d}" if s.y else "00000"
    line = f"A    {s.name.upper():<30}0{s.tiploc:<7}{s.crs:<3}   {s.crs:<3}{east} {north}{s.change_min:>2}"
    return line.ljust(82)


def schedule(t: Train) -> list[str]:
    out = [f"BSN{t.uid:<6}{t.start}{t.end}{t.days} {t.status}{t.category}1A00".ljust(79) + t.stp]
    out.append(f"BX         {t.operator}Y".ljust(80))
    for k, (tiploc, arr, dep, public) in enumerate(t.calls):
        loc = f"{tiploc:<7} "
        if k == 0:
            out.append(f"LO{loc}{dep} {dep if public else '0000'}".ljust(80))
        elif k == len(t.calls) - 1:
            out.append(f"LT{loc}{arr} {arr if public else '0000'}".ljust(80))
        elif public:
            out.append(f"LI{loc}{arr} {dep}      {arr}{dep}".ljust(80))
        else:  # a pass: a passing time, no public times
            out.append(f"LI{loc}          {dep} 00000000".ljust(80))
    return out


def write_cif(
    path: Path,
    stations: list[Station],
    trains: list[Train],
    *,
    links: tuple[tuple[str, str, int], ...] = (),
    mca_lines: list[str] | None = None,
    with_msn: bool = True,
    with_flf: bool = True,
) -> Path:
    """A CIF zip with ``toy.mca`` (header, schedules, trailer), ``toy.msn`` and ``toy.flf`` (walk links)."""
    lines = ["HDTPS.UCFCATE.PD2001012001012200DFTTISW       FA200101201231".ljust(80)]
    for t in trains:
        lines += schedule(t)
    lines.append("ZZ".ljust(80))
    if mca_lines is not None:
        lines = mca_lines
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("toy.mca", "\r\n".join(lines) + "\r\n")
        if with_msn:
            msn = ["A                             FILE-SPEC=05 1.00 01/01/20 00.00.00   590".ljust(82)]
            z.writestr("toy.msn", "\r\n".join(msn + [msn_record(s) for s in stations]) + "\r\n")
        if with_flf:
            flf = [f"ADDITIONAL LINK: WALK BETWEEN {a} AND {b} IN {m:>3} MINUTES" for a, b, m in links]
            z.writestr("toy.flf", "\r\n".join(flf) + "\r\n")
    return path
