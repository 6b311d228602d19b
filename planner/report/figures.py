"""The report's figures and sentences, read from each run's ``summary.json`` (never recomputed)."""

from __future__ import annotations

from planner.runfolder import RunOutputs
from planner.scenario import closure_savings
from planner.travel import engine_words


def _shared_words(runs: list[RunOutputs]) -> str:
    """How the first page says the minutes were found: one engine's words, or a pointer to each scenario's."""
    words = {engine_words(r.engine) for r in runs}
    return words.pop() if len(words) == 1 else "(travel times from a different engine per scenario, see Methods)"


def _years(runs: list[RunOutputs]) -> str:
    years = {r.scenario.demand_year for r in runs}
    if len(years) == 1:
        return f"mid-{years.pop()}"
    return "; ".join(f"mid-{r.scenario.demand_year} for {r.name}" for r in runs)


def _n(value: float) -> str:
    return f"{round(value):,}"


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.2f}%" if whole else "n/a"


def _signed(value: float) -> str:
    return f"+{_n(value)}" if value > 0 else ("no change" if value == 0 else f"−{_n(-value)}")


def _savings(run: RunOutputs, first: RunOutputs) -> tuple[int, float | None, str]:
    """Counters closed against the first run, and their known annual cost (None when unknown)."""
    closed = sorted(set(first.counters["station_id"]) - set(run.counters["station_id"]))
    opened = sorted(set(run.counters["station_id"]) - set(first.counters["station_id"]))
    costs = run.scenario.costs or first.scenario.costs
    total, why = closure_savings(closed, costs, opened=opened, reference=first.scenario.costs)
    if not closed and not opened:
        return 0, 0.0, "none (no counter closes)"
    if why:
        return len(closed), None, f"unknown ({why})"
    net = f" net of the {len(opened)} counter(s) it opens" if opened else ""
    amount = f"{costs.currency} {total:,.0f}" if total >= 0 else f"−{costs.currency} {-total:,.0f}"  # type: ignore[union-attr]
    return len(closed), total, f"{amount} a year{net}"


def _scenario_figures(run: RunOutputs, first: RunOutputs) -> dict:
    """The summary figures of one run, straight from its summary.json, with plain-word sentences."""
    s = run.summary
    t0 = run.labels[0]
    lon, lon24 = s["london"], s["london_24_7"]
    pop = lon[t0]["population"]
    closed, saving, saving_text = _savings(run, first)
    opened = sorted(set(run.counters["station_id"]) - set(first.counters["station_id"]))
    words = engine_words(run.engine)
    without = list(s["boroughs_without_24_7"])
    rows = _scenario_rows(run)
    sentences = _sentences(run, words, without)
    if run is not first:
        sentences.append(_change(run, first, closed, opened))
        sentences.append(f"Net annual savings: {saving_text}.")
    changes = {}
    if run is not first:
        before = _scenario_rows(first)
        changes = {key: rows[key] - before[key] for key in rows}
    headline = (
        f"{s['counters_open']} counters ({s['counters_24_7']} open 24/7). {_n(lon[t0]['beyond'])} residents "
        f"({_pct(lon[t0]['beyond'], pop)}) live more than {t0} minutes from an open counter, "
        f"{_n(lon24[t0]['beyond'])} from a 24/7 counter. "
        + (
            f"{len(without)} borough{'s' if len(without) > 1 else ''} without a 24/7 counter"
            + (f" ({', '.join(without)})." if len(without) <= 6 else ".")
            if without
            else "Every borough keeps a 24/7 counter."
        )
    )
    if run is not first:
        headline += " " + sentences[-2]
    return {
        "headline": headline,
        "name": run.name,
        "description": run.scenario.description,
        "notes": run.scenario.notes,
        "rows": rows,
        "changes": changes,
        "without": without,
        "closed": closed,
        "opened": len(opened),
        "saving": saving,
        "saving_text": saving_text,
        "hubs": s.get("hubs"),
        "sentences": sentences,
        "words": words,
        "population": pop,
    }


def _sentences(run: RunOutputs, words: str, without: list[str]) -> list[str]:
    """A run's figures in plain words: counters, residents beyond each threshold, 24/7 counters, boroughs."""
    s = run.summary
    t0 = run.labels[0]
    lon, lon24 = s["london"], s["london_24_7"]
    pop = lon[t0]["population"]
    sentences = [
        f"{s['counters_open']} front counters open, {s['counters_24_7']} of them 24 hours a day, 7 days a week.",
        f"{_n(lon[t0]['beyond'])} residents ({_pct(lon[t0]['beyond'], pop)} of {_n(pop)}) live more than "
        f"{t0} minutes {words} from the nearest open counter; {_n(lon[t0]['beyond_65_plus'])} of them are aged 65 "
        "or over.",
    ]
    for t in run.labels[1:]:
        sentences.append(
            f"{_n(lon[t]['beyond'])} live more than {t} minutes away ({_n(lon[t]['beyond_65_plus'])} aged 65+)."
        )
    t24 = " and ".join(
        f"{_n(lon24[t]['beyond'])} beyond {t} minutes ({_n(lon24[t]['beyond_65_plus'])} aged 65+)" for t in run.labels
    )
    sentences.append(f"Counting only the 24/7 counters, which are open at night: {t24}.")
    sentences.append(
        "Every borough keeps a 24/7 counter."
        if not without
        else f"{len(without)} borough{'s' if len(without) > 1 else ''} left without a 24/7 counter: "
        f"{', '.join(without)}."
    )
    return sentences


def _change(run: RunOutputs, first: RunOutputs, closed: int, opened: list[str]) -> str:
    """What changes against the first run: counters closed and opened, residents beyond the first threshold."""
    t0 = run.labels[0]
    now, before = run.summary["london"][t0]["beyond"], first.summary["london"][t0]["beyond"]
    d = now - before
    return (
        f"Against {first.name}: {closed} counter{'s' if closed != 1 else ''} close"
        + (f" and {len(opened)} new {'ones open' if len(opened) > 1 else 'one opens'}" if opened else "")
        + f"; residents beyond {t0} minutes {'rise' if d > 0 else 'fall' if d < 0 else 'do not change'}"
        + (f" by {_n(abs(d))}, from {_n(before)} to {_n(now)}." if d else ".")
    )


def _scenario_rows(run: RunOutputs) -> dict:
    s = run.summary
    rows = {
        "counters_open": s["counters_open"],
        "counters_24_7": s["counters_24_7"],
        "boroughs_without_24_7": len(s["boroughs_without_24_7"]),
    }
    for t in run.labels:
        rows[f"beyond_{t}"] = s["london"][t]["beyond"]
        rows[f"beyond_65_plus_{t}"] = s["london"][t]["beyond_65_plus"]
        rows[f"beyond_24_7_{t}"] = s["london_24_7"][t]["beyond"]
        rows[f"beyond_24_7_65_plus_{t}"] = s["london_24_7"][t]["beyond_65_plus"]
    return rows


def _summary_table(runs: list[RunOutputs]) -> list[dict]:
    """Rows of the first page's table: label, key and a value per scenario."""
    labels = runs[0].labels
    spec = [
        ("Counters open", "counters_open"),
        ("  of which open 24/7", "counters_24_7"),
        ("Boroughs without a 24/7 counter", "boroughs_without_24_7"),
    ]
    for t in labels:
        spec += [
            (f"Residents more than {t} min from any open counter", f"beyond_{t}"),
            ("  of them aged 65+", f"beyond_65_plus_{t}"),
        ]
    for t in labels:
        spec += [
            (f"Residents more than {t} min from a 24/7 counter", f"beyond_24_7_{t}"),
            ("  of them aged 65+", f"beyond_24_7_65_plus_{t}"),
        ]
    table = []
    for label, key in spec:
        cells = []
        for run in runs:
            value = _scenario_rows(run)[key]
            change = value - _scenario_rows(runs[0])[key] if run is not runs[0] else None
            cells.append({"value": value, "text": _n(value), "change": None if change is None else _signed(change)})
        table.append({"label": label.strip(), "indent": label.startswith("  "), "key": key, "cells": cells})
    return table
