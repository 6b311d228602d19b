"""Running a sweep's chunks: serially, on a local Dask cluster or on an existing one; each chunk stored as it ends."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from planner.context import ResolvedScenario
from planner.errors import SchedulerError

logger = logging.getLogger(__name__)


def connect(scheduler: str | None = None, *, workers: int | None = None, timeout: float = 10.0):
    """A Dask client: an existing cluster at ``scheduler``, or a local cluster.

    The local cluster logs only errors, and closing it does not print the connection errors that
    Dask logs while its workers shut down.

    Parameters
    ----------
    scheduler
        A Dask scheduler address (``tcp://HOST:PORT``), or None for a local cluster.
    workers
        Workers of the local cluster (default: Dask's).
    timeout
        Seconds to wait for the scheduler.

    Raises
    ------
    SchedulerError
        If the scheduler cannot be reached.
    """
    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout=f"{timeout}s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise SchedulerError(
                f"could not reach a Dask scheduler at {scheduler!r} ({exc}). Check the address (tcp://HOST:PORT) "
                "and that `dask scheduler` runs there, or leave out `scheduler` to use a local cluster."
            ) from exc
    n = workers or os.cpu_count() or 1
    with _quiet_dask():
        # a free port for the dashboard: no "port 8787 is already in use" warning on a shared machine
        cluster = LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=logging.ERROR
        )
        return Client(cluster)


@contextlib.contextmanager
def _quiet_dask() -> Iterator[None]:
    """Dask's own loggers at ERROR: no start-up chatter, no ``CommClosedError`` while workers shut down."""
    manager = logging.Logger.manager
    names = ["distributed", *(n for n in list(manager.loggerDict) if n.startswith("distributed."))]
    saved = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def close_client(client: Any) -> None:
    """Close a client and the local cluster it started, quietly.

    Parameters
    ----------
    client
        A client from :func:`connect`.
    """
    cluster = getattr(client, "cluster", None)
    with _quiet_dask(), contextlib.suppress(Exception):
        client.close()
        if cluster is not None:
            cluster.close()


def _store(folder: Path, chunk: int, results: pd.DataFrame, wards: pd.DataFrame) -> None:
    chunks_dir = folder / "chunks"
    for name, frame in (("wards", wards), ("results", results)):  # results last: it marks the chunk done
        tmp = chunks_dir / f".{name}-{chunk:05d}.parquet"
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, chunks_dir / f"{name}-{chunk:05d}.parquet")


def _execute(
    plan: _Plan,
    *,
    client: Any,
    own: bool,
    workers: int | None,
    serial: bool,
    progress: Callable[[int, int], None] | None,
    on_cluster: Callable[[Any], None] | None = None,
) -> None:
    """Run the chunks still to do, in this process or on Dask, storing each as it finishes."""
    done = [plan.reused]

    def finish(chunk: int, results: pd.DataFrame, wards: pd.DataFrame) -> None:
        _store(plan.folder, chunk, results, wards)
        done[0] += 1
        if progress:
            progress(done[0], plan.n_tasks)

    if progress:
        progress(done[0], plan.n_tasks)
    if serial or not plan.jobs:
        if own and client is not None:
            close_client(client)
        lead = () if plan.shared is None else (plan.shared,)
        for job in plan.jobs:
            finish(*plan.func(*lead, *job))
        return
    _execute_on_dask(plan, finish, client=client, own=own, workers=workers, on_cluster=on_cluster)


def _execute_on_dask(
    plan: _Plan,
    finish: Callable[..., None],
    *,
    client: Any,
    own: bool,
    workers: int | None,
    on_cluster: Callable[[Any], None] | None,
) -> None:
    from dask.distributed import as_completed

    dask_client = client or connect(workers=workers)
    if on_cluster:
        on_cluster(dask_client)
    try:
        with contextlib.ExitStack() as stack:
            if own:  # our own local cluster: only errors from it
                stack.enter_context(_quiet_dask())
            # the closure model goes to every worker once, not with every chunk
            lead = () if plan.shared is None else (dask_client.scatter(plan.shared, broadcast=True),)
            futures = [dask_client.submit(plan.func, *lead, *job, pure=False) for job in plan.jobs]
            for future in as_completed(futures):
                finish(*future.result())
    finally:
        if own:
            close_client(dask_client)


@dataclass
class _Plan:
    """A planned sweep: its folder, its chunks and what each still-to-run chunk is called with."""

    kind: str
    resolved: ResolvedScenario
    folder: Path
    n_tasks: int
    scenarios: int
    func: Callable[..., tuple[int, pd.DataFrame, pd.DataFrame]]
    shared: Any  # sent to every worker once (the closure model), or None
    jobs: list[tuple]
    base_beyond: int | None = None

    @property
    def reused(self) -> int:
        return self.n_tasks - len(self.jobs)
