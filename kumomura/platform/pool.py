"""Running a job's chunks in parallel processes on this machine.

For CPU-bound chunks (rendering PDFs) a process per core is what makes a run finish in
time without a queue. Processes are spawned, not forked, so none inherits a connection
or a thread of the parent. Each installs the parent's modules and opens the database
once. Chunks mark themselves done exactly as with any runner, so a run cut short is
resumed by any runner. On SQLite the
tenant's write lock lets one chunk commit at a time; the parallel gain is PostgreSQL's.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed

from kumomura.platform import installation
from kumomura.platform.core.config import Settings
from kumomura.platform.jobs import queue as jobs
from kumomura.platform.storage.db import Database, open_database

_process_db: list[Database] = []
"""The database of a pool process (one per process, opened by the initializer)."""


def _open(refs: tuple[str, ...], settings: Settings) -> None:
    installation.install_refs(refs)
    _process_db.append(open_database(settings, owner=False))


def _run(job_id: int, chunk_no: int) -> bool:
    return jobs.run_chunk(_process_db[0], job_id, chunk_no)


def run_in_pool(db: Database, settings: Settings, job_id: int, *, workers: int,
                on_chunk: Callable[[int, int], None] | None = None) -> jobs.Job:
    """Run every chunk not yet done across ``workers`` processes; ``db`` (this process's)
    reports progress. The first failing chunk's error is raised after the others end."""
    todo = jobs.pending_chunks(db, job_id)
    if workers <= 1 or len(todo) <= 1:
        return jobs.run_in_process(db, job_id, on_chunk=on_chunk)
    total = jobs.get_job(db, job_id).total_chunks
    context = multiprocessing.get_context("spawn")
    failure: BaseException | None = None
    with ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=context,
                             initializer=_open,
                             initargs=(installation.installed_refs(), settings)) as pool:
        futures = [pool.submit(_run, job_id, n) for n in todo]
        for future in as_completed(futures):
            error = future.exception()
            if error is not None and failure is None:
                failure = error
            if on_chunk is not None:
                on_chunk(jobs.get_job(db, job_id).done_chunks, total)
    if failure is not None:
        raise failure
    return jobs.get_job(db, job_id)
