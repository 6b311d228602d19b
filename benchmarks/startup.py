"""``planner --help`` start-up: the command line against importing the library it drives.

Run: python -m benchmarks.startup

The command line imports the library inside each command, and ``import planner`` loads its names on first
use, so that ``planner --help`` (and a mistyped option) answers without loading geopandas, the engines, the
maps and the report.  Reference, in fresh processes like the command itself: importing the modules a
``planner run`` needs.  Target: ``planner --help`` in <= 0.6 s and >= 2x faster than the reference.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from benchmarks._common import REPO

TARGET_S = 0.6
TARGET_RATIO = 2.0
RUNS = 5


def _seconds(args: list[str]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run([sys.executable, *args], cwd=REPO, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    helped = _seconds(["-m", "planner", "--help"])
    library = _seconds(["-c", "import planner.run, planner.report, planner.maps, planner.travel.builders"])
    ratio = library / helped
    print(f"planner --help: median {helped:.2f} s of {RUNS} fresh processes")
    print(f"importing the library a run needs (reference): median {library:.2f} s; ratio {ratio:.1f}x")
    print(f"target <= {TARGET_S} s: {'met' if helped <= TARGET_S else 'NOT met'} ({TARGET_S / helped:.1f}x headroom)")
    print(
        f"target >= {TARGET_RATIO:g}x faster than the library import: {'met' if ratio >= TARGET_RATIO else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
