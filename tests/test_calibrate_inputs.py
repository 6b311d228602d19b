"""What ``planner calibrate`` refuses in DfT's journey-time table (JTS04, ``calibration/jts04_la_*.csv``).

Spoiled copies of the mirror's tables are written into ``tmp_path`` at test time (the other data folders
are linked, never copied into the repository); small invented tables check the same refusals without the
mirror.  Each spoil must raise :class:`planner.errors.DataError` naming the file, the borough (code and
name), the line and the field, and ``planner calibrate`` must exit 2 with the message and no traceback.
"""

from __future__ import annotations

import csv
import io
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.calibrate import LONDON_AUTHORITIES, load_jts04
from planner.cli import app
from planner.config import DataPaths
from planner.errors import DataError

#: The years ``planner calibrate`` accepts (the 2014 table has no ``Hosp_pop``).
YEARS = (2015, 2016)
#: The JTS04 columns the calibration reads.
FIELDS = ("Hosp_pop", "HospPTt", "HospPT30pct", "HospPT45pct", "HospPT60pct")
#: A number out of each field's range.
OUT_OF_RANGE = {"Hosp_pop": "0", "HospPTt": "121", "HospPT30pct": "101", "HospPT45pct": "-1", "HospPT60pct": "100.5"}
CAMDEN, HACKNEY, WESTMINSTER, CITY = "E09000007", "E09000012", "E09000033", "E09000001"
runner = CliRunner()


# --------------------------------------------------------------------------- spoiling a table, line by line
def _cells(line: str) -> list[str]:
    return next(csv.reader([line]))


def _line(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\n").writerow(cells)
    return out.getvalue()


def _index(lines: list[str], code: str) -> int:
    """The position in ``lines`` of the row whose ``LA_Code`` is ``code`` (its file line is this + 1)."""
    column = _cells(next(line for line in lines if "LA_Code" in line)).index("LA_Code")
    found = [i for i, line in enumerate(lines) if line.strip() and _cells(line)[column].strip() == code]
    assert len(found) == 1, (code, found)
    return found[0]


def _drop(lines: list[str], *codes: str) -> list[str]:
    gone = {_index(lines, c) for c in codes}
    return [line for i, line in enumerate(lines) if i not in gone]


def _set(lines: list[str], code: str, field: str, value: str) -> list[str]:
    header = _cells(next(line for line in lines if "LA_Code" in line))
    i = _index(lines, code)
    cells = _cells(lines[i])
    cells[header.index(field)] = value
    return [*lines[:i], _line(cells), *lines[i + 1 :]]


def _real_lines(data_dir: Path, year: int) -> list[str]:
    return (data_dir / "calibration" / f"jts04_la_{year}.csv").read_text().splitlines(keepends=True)


def _spoiled_dir(data_dir: Path, tmp_path: Path, year: int, lines: list[str]) -> Path:
    """A data directory in ``tmp_path``: the mirror's folders linked, its JTS04 table of ``year`` replaced."""
    root = tmp_path / "data"
    (root / "calibration").mkdir(parents=True)
    for folder in data_dir.iterdir():
        if folder.name != "calibration":
            (root / folder.name).symlink_to(folder)
    for file in (data_dir / "calibration").iterdir():
        if file.name != f"jts04_la_{year}.csv":
            (root / "calibration" / file.name).symlink_to(file)
    (root / "calibration" / f"jts04_la_{year}.csv").write_text("".join(lines))
    return root


def _refusal(root: Path, year: int) -> str:
    with pytest.raises(DataError) as caught:
        load_jts04(DataPaths(root), year=year)
    message = str(caught.value)
    assert str(root / "calibration" / f"jts04_la_{year}.csv") in message
    assert f"planner data fetch --dest {root} --name jts04-{year}" in message  # how to fix: the source's name
    assert "--year" not in message and "Traceback" not in message
    return message


def _plain(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------- the real tables
@pytest.mark.data
@pytest.mark.parametrize("year", YEARS)
def test_the_real_tables_load_as_the_file_says(data_dir, year):
    """Every London row, read again with the csv module: the 33 authorities, the numbers unchanged, no warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = load_jts04(DataPaths(data_dir), year=year)
    assert list(table.index) == sorted(LONDON_AUTHORITIES)
    assert table["name"].to_dict() == LONDON_AUTHORITIES
    assert not table.isna().any().any()
    with open(data_dir / "calibration" / f"jts04_la_{year}.csv", newline="") as fh:
        rows = {r["LA_Code"]: r for r in csv.DictReader(fh) if r["LA_Code"].startswith("E09")}
    names = {"users": "Hosp_pop", "mean_min": "HospPTt", "within_30": "HospPT30pct"}
    names |= {"within_45": "HospPT45pct", "within_60": "HospPT60pct"}
    for code, row in rows.items():
        for name, field in names.items():
            assert table.loc[code, name] == float(row[field]), (code, field)


@pytest.mark.data
def test_the_2014_table_is_refused_for_its_missing_users(data_dir):
    with pytest.raises(DataError, match="no Hosp_pop") as caught:
        load_jts04(DataPaths(data_dir), year=2014)
    assert "use the 2015 or 2016 table" in str(caught.value) and "--year" not in str(caught.value)


# --------------------------------------------------------------------------- boroughs missing, repeated, unknown
@pytest.mark.data
@pytest.mark.parametrize("year", YEARS)
@pytest.mark.parametrize("code", [CAMDEN, WESTMINSTER])
def test_a_deleted_borough_row_is_refused(data_dir, tmp_path, year, code):
    root = _spoiled_dir(data_dir, tmp_path, year, _drop(_real_lines(data_dir, year), code))
    message = _refusal(root, year)
    assert f"1 of the 32 London boroughs the calibration compares has no row: {code} ({LONDON_AUTHORITIES[code]})" in (
        message
    )
    assert "the fit would cover only 31 boroughs" in message and "download the table again" in message


@pytest.mark.data
def test_every_deleted_borough_is_named(data_dir, tmp_path):
    lines = _drop(_real_lines(data_dir, 2016), CAMDEN, "E09000029")
    message = _refusal(_spoiled_dir(data_dir, tmp_path, 2016, lines), 2016)
    assert "2 of the 32 London boroughs the calibration compares have no row: E09000007 (Camden), " in message
    assert "E09000029 (Sutton)" in message and "cover only 30 boroughs" in message


@pytest.mark.data
def test_a_deleted_city_row_is_accepted(data_dir, tmp_path):
    """The calibration leaves the City of London out (City of London Police), so its row is not needed."""
    root = _spoiled_dir(data_dir, tmp_path, 2016, _drop(_real_lines(data_dir, 2016), CITY))
    table = load_jts04(DataPaths(root))
    assert len(table) == 32 and CITY not in table.index


@pytest.mark.data
@pytest.mark.parametrize("code", [HACKNEY, CITY])
def test_a_repeated_row_is_refused(data_dir, tmp_path, code):
    lines = _real_lines(data_dir, 2016)
    first = _index(lines, code) + 1
    root = _spoiled_dir(data_dir, tmp_path, 2016, [*lines, lines[first - 1]])
    message = _refusal(root, 2016)
    name = LONDON_AUTHORITIES[code]
    assert f"London row(s) repeated: {code} ({name}) on lines {first} and {len(lines) + 1}" in message
    assert "Delete the extra row(s)" in message


@pytest.mark.data
def test_an_unknown_london_code_is_refused(data_dir, tmp_path):
    lines = _real_lines(data_dir, 2016)
    line = _index(lines, CAMDEN) + 1
    root = _spoiled_dir(data_dir, tmp_path, 2016, _set(lines, CAMDEN, "LA_Code", "E09000034"))
    message = _refusal(root, 2016)
    assert f"line {line}: LA_Code 'E09000034' (Camden) is not one of the 33 London local authorities" in message


# --------------------------------------------------------------------------- values that are not numbers
@pytest.mark.data
@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("value", ["abc", "..", "", "out of range"])
def test_a_bad_value_is_refused_with_its_line_and_field(data_dir, tmp_path, field, value):
    value = OUT_OF_RANGE[field] if value == "out of range" else value
    lines = _real_lines(data_dir, 2016)
    line = _index(lines, HACKNEY) + 1
    root = _spoiled_dir(data_dir, tmp_path, 2016, _set(lines, HACKNEY, field, value))
    message = _refusal(root, 2016)
    assert f"jts04_la_2016.csv, line {line}: {field} of {HACKNEY} (Hackney) " in message
    if value == "":
        assert "is empty; it must be" in message
    elif value in ("abc", ".."):
        assert f"is {value!r}, not a number; it must be" in message
    else:
        assert f"is {value}; it must be" in message
    assert "Correct the value, or download the table again" in message


@pytest.mark.data
def test_the_first_of_several_bad_values_is_shown_and_the_rest_counted(data_dir, tmp_path):
    lines = _set(_real_lines(data_dir, 2016), WESTMINSTER, "HospPTt", "x")
    lines = _set(_set(lines, CAMDEN, "HospPT60pct", "n/a"), CAMDEN, "Hosp_pop", "")
    line = _index(lines, CAMDEN) + 1  # Camden is the first London row of DfT's table
    message = _refusal(_spoiled_dir(data_dir, tmp_path, 2016, lines), 2016)
    assert f"line {line}: Hosp_pop of {CAMDEN} (Camden) is empty" in message
    assert "(2 more bad value(s) in London rows)" in message


@pytest.mark.data
def test_a_bad_value_outside_london_is_not_read(data_dir, tmp_path):
    lines = _set(_real_lines(data_dir, 2016), "E06000047", "HospPTt", "..")  # County Durham
    table = load_jts04(DataPaths(_spoiled_dir(data_dir, tmp_path, 2016, lines)))
    assert len(table) == 33


@pytest.mark.data
def test_title_rows_above_the_header_are_skipped_and_counted_in_line_numbers(data_dir, tmp_path):
    title = ["Journey time statistics: JTS0401\n", "Source: Department for Transport\n", "\n"]
    lines = _real_lines(data_dir, 2016)
    expected = load_jts04(DataPaths(data_dir))
    root = _spoiled_dir(data_dir, tmp_path, 2016, [*title, *lines])
    assert load_jts04(DataPaths(root)).equals(expected)
    line = _index(lines, HACKNEY) + 1 + len(title)
    (root / "calibration" / "jts04_la_2016.csv").write_text("".join([*title, *_set(lines, HACKNEY, "HospPTt", "?")]))
    assert f"line {line}: HospPTt of {HACKNEY} (Hackney) is '?'" in _refusal(root, 2016)


# --------------------------------------------------------------------------- through the command line
#: The two spoils of issue #20 (item 6): (id, spoil of the 2016 lines, message fragment).
CLI_SPOILS = [
    ("deleted-borough", lambda lines: _drop(lines, CAMDEN), "1 of the 32 London boroughs the calibration compares "
     "has no row: E09000007 (Camden)"),
    ("hospptt-not-a-number", lambda lines: _set(lines, HACKNEY, "HospPTt", "abc"),
     "line {line}: HospPTt of E09000012 (Hackney) is 'abc', not a number"),
]  # fmt: skip


@pytest.mark.data
@pytest.mark.parametrize(("spoil", "fragment"), [s[1:] for s in CLI_SPOILS], ids=[s[0] for s in CLI_SPOILS])
def test_calibrate_command_refuses_a_spoiled_table(data_dir, tmp_path, spoil, fragment):
    lines = _real_lines(data_dir, 2016)
    root = _spoiled_dir(data_dir, tmp_path, 2016, spoil(lines))
    result = runner.invoke(app, ["calibrate", "--data", str(root), "--out", str(tmp_path / "out")])
    output = _plain(result.output)
    assert result.exit_code == 2, output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert "error: " in output and fragment.format(line=_index(lines, HACKNEY) + 1) in output
    assert "--name jts04-2016" in output
    assert not (tmp_path / "out").exists(), "a refused calibration wrote output"


# --------------------------------------------------------------------------- invented tables: no mirror needed
def write_jts04(path: Path, *, drop: tuple[str, ...] = (), values: dict[tuple[str, str], str] | None = None) -> Path:
    """An invented JTS04 table: a row outside London and the 33 London authorities, names padded as DfT's.

    Parameters
    ----------
    path
        The file to write (its folder is made).
    drop
        LA codes to leave out.
    values
        ``(LA code, field) -> text`` to put in place of the invented number.

    Returns
    -------
    Path
        ``path``.
    """
    values = values or {}
    rows = [
        ["Region", "LA_Code", "LA_Name", *FIELDS],
        ["North East", "E06000047", "County Durham", "..", "", "", "", ""],
    ]
    for i, (code, name) in enumerate(LONDON_AUTHORITIES.items()):
        if code in drop:
            continue
        numbers = dict(zip(FIELDS, [str(1000 + i), str(15 + i % 20), "90", "99", "100"], strict=True))
        numbers |= {field: text for (c, field), text in values.items() if c == code}
        rows.append(["London", code, f"     {name}", *numbers.values()])
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        csv.writer(fh, quoting=csv.QUOTE_NONNUMERIC).writerows(rows)
    return path


def write_hospitals_2016(path: Path) -> Path:
    """An invented ``nhs_hospitals_2016.csv``: one ``set_primary`` site in the middle of the invented wards."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "id,name,easting,northing,set_primary,set_acute,set_broad,set_labelled\n"
        "ZZ001,Invented General Hospital,531500.0,181000.0,True,True,True,True\n"
    )
    return path


def test_an_invented_table_loads(tmp_path):
    table = load_jts04(DataPaths(write_jts04(tmp_path / "calibration" / "jts04_la_2016.csv").parents[1]))
    assert list(table.index) == sorted(LONDON_AUTHORITIES) and table.loc[CAMDEN, "users"] == 1006
    assert table.loc[CAMDEN, "name"] == "Camden"  # DfT's leading spaces stripped


def test_an_invented_table_refuses_a_missing_borough_and_a_suppressed_value(tmp_path):
    path = tmp_path / "calibration" / "jts04_la_2016.csv"
    write_jts04(path, drop=(WESTMINSTER,))
    with pytest.raises(DataError, match=r"has no row: E09000033 \(Westminster\)"):
        load_jts04(DataPaths(tmp_path))
    write_jts04(path, values={("E09000003", "HospPT45pct"): ".."})
    # header line 1, County Durham line 2, the City line 3, Barking and Dagenham 4, Barnet 5
    with pytest.raises(DataError, match=r"line 5: HospPT45pct of E09000003 \(Barnet\) is '\.\.', not a number"):
        load_jts04(DataPaths(tmp_path))


def test_calibrate_command_refuses_an_invented_table(synthetic_dir, tmp_path):
    """The invented data directory (tests/synthetic.py) with a calibration folder: no mirror needed."""
    root = tmp_path / "data"
    root.mkdir()
    for folder in synthetic_dir.iterdir():
        (root / folder.name).symlink_to(folder)
    write_hospitals_2016(root / "calibration" / "nhs_hospitals_2016.csv")
    write_jts04(root / "calibration" / "jts04_la_2016.csv", values={(HACKNEY, "HospPTt"): "abc"})
    args = [
        "calibrate",
        "--data",
        str(root),
        "--engine",
        "crowfly",
        "--set",
        "set_primary",
        "--out",
        str(tmp_path / "out"),
    ]
    result = runner.invoke(app, args)
    output = _plain(result.output)
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), output
    assert "Traceback" not in result.output
    assert "line 14: HospPTt of E09000012 (Hackney) is 'abc', not a number" in output
    assert not (tmp_path / "out").exists()
