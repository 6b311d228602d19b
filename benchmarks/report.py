"""The board report of the three 2017 scenarios: time and peak memory, against a 10-second target.

Run: python -m benchmarks.report [--repeat 3]

Runs the three 2017 scenarios once (not timed), then times ``planner report`` on their
folders as a user would run it (a fresh process: interpreter start, imports, reading the
runs, charts and maps, the HTML and the PDF printed by headless Chromium), and the same
work in this process split into the HTML and the PDF. The target is the command's wall
time; the load average is printed because the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._common import REPO, data_dir, peak_memory_mb, quiet
from planner import RunContext, run_scenario
from planner.report import print_pdf, render_html
from planner.runfolder import read_run_outputs

NAMES = ["baseline-2017", "mopac-draft-2017", "mopac-final-2017"]
TARGET_S = 10.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="Timed repetitions (the median is the result).")
    args = parser.parse_args()
    quiet()
    os.environ.setdefault("SOURCE_DATE_EPOCH", "1795910400")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        context = RunContext(data_dir())
        runs = [
            run_scenario(REPO / "scenarios" / f"{n}.toml", out=root / "runs", context=context, maps=False).out_dir
            for n in NAMES
        ]
        command = [sys.executable, "-m", "planner", "report", *map(str, runs), "--out", str(root / "report")]
        env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        walls, cpus = [], []
        for _ in range(args.repeat):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, env=env, cwd=REPO)
            walls.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

        html_s, pdf_s, cpu_s = [], [], []
        for _ in range(args.repeat):
            cpu0, start = time.process_time(), time.perf_counter()
            html = render_html(runs=[read_run_outputs(r) for r in runs])
            html_s.append(time.perf_counter() - start)
            cpu_s.append(time.process_time() - cpu0)
            path = root / "inproc.html"
            path.write_text(html, encoding="utf-8")
            start = time.perf_counter()
            print_pdf(path, root / "inproc.pdf")
            pdf_s.append(time.perf_counter() - start)
        size_html = (root / "report" / "report.html").stat().st_size / 1e6
        size_pdf = (root / "report" / "report.pdf").stat().st_size / 1e6

    wall = statistics.median(walls)
    print(f"load average (1, 5, 15 min): {', '.join(f'{v:.1f}' for v in os.getloadavg())} on {os.cpu_count()} cores")
    print(f"planner report, 3 scenarios (fresh process, HTML + PDF): median {wall:.2f}s, best {min(walls):.2f}s")
    print(
        f"  CPU time of the command and the processes it waited for (Python, Playwright's driver, Chromium): "
        f"median {statistics.median(cpus):.2f}s"
    )
    print(
        f"  in this process: HTML {statistics.median(html_s):.2f}s (CPU {statistics.median(cpu_s):.2f}s), "
        f"PDF by Chromium {statistics.median(pdf_s):.2f}s; the PDF is "
        f"{statistics.median(pdf_s) / statistics.median(html_s):.2f}x the HTML's time"
    )
    print(f"  report.html {size_html:.1f} MB, report.pdf {size_pdf:.1f} MB")
    print(f"peak memory: {child_mb:,.0f} MB (planner report process), {peak_memory_mb():,.0f} MB (this process)")
    print(f"target: <= {TARGET_S:g}s for the three 2017 scenarios: {'met' if wall <= TARGET_S else 'NOT met'}")


if __name__ == "__main__":
    main()
