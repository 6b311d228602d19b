"""``planner demo``: the three 2017 scenarios, their comparison and report, against a 30 s target.

Run: python -m benchmarks.demo

1. ``planner demo`` end to end, in a fresh process (imports included), against one
   ``planner run scenarios/baseline-2017.toml`` in a fresh process (the reference): the demo
   runs three scenarios, so about 3x the reference means the comparison and report cost little.
2. The postcodes' nearest counter for the three plans with the transit engine: one graph per plan
   (``postcode_access`` without ``candidates``), against one graph shared by the plans
   (``candidates``: every counter, searched ``among`` each plan's), same process.

Target: the demo in <= 30 s (``TARGET_S``), with headroom reported.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._common import REPO, data_dir, quiet, timer

TARGET_S = 30.0
PLANS = ("in_73_baseline=yes", "status_draft_jul2017=retain,unknown,new", "status_final_nov2017=retain,new")


def _status(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _timed(args: list[str], cwd: Path) -> float:
    env = {**os.environ, "PLANNER_DATA": str(data_dir())}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "planner", *args], cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def _end_to_end() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        run = _timed(["run", str(REPO / "scenarios" / "baseline-2017.toml"), "--data", str(data_dir()),
                      "--out", f"{tmp}/run"], REPO)  # fmt: skip
        demo = _timed(["demo", "--data", str(data_dir()), "--out", f"{tmp}/demo"], REPO)
    print(f"planner run baseline-2017 (reference): {run:.1f} s")
    print(f"planner demo (3 scenarios, comparison, report): {demo:.1f} s ({demo / run:.1f}x the reference)")
    print(
        f"  target <= {TARGET_S:g} s: {_status(demo <= TARGET_S)} (headroom {100 * (TARGET_S - demo) / TARGET_S:.0f} %)"
    )


def _postcodes() -> None:
    quiet()
    from planner.london import load_london
    from planner.postcodes import load_postcodes, postcode_access, postcode_file
    from planner.stations import select_counters
    from planner.travel import make_engine

    london = load_london(data_dir())
    postcodes = load_postcodes(postcode_file(london.paths.root))
    plans = [select_counters(london.stations, p) for p in PLANS]
    t: dict[str, float] = {}
    with timer(t, "apart"):
        engine = make_engine("transit", data=london.paths)
        apart = [postcode_access(postcodes, c, engine) for c in plans]
    with timer(t, "shared"):
        engine = make_engine("transit", data=london.paths)
        shared = [postcode_access(postcodes, c, engine, candidates=london.stations) for c in plans]
    same = all(a.equals(b) for a, b in zip(apart, shared, strict=True))
    print(f"Postcodes for {len(plans)} plans, one graph per plan (reference): {t['apart']:.1f} s")
    print(
        f"  one graph shared by the plans: {t['shared']:.1f} s ({t['apart'] / t['shared']:.1f}x quicker); "
        f"same answers: {same}"
    )


def main() -> None:
    _end_to_end()
    _postcodes()


if __name__ == "__main__":
    main()
