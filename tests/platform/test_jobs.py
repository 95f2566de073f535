"""Chunked jobs: progress, log, and restarts that neither repeat nor skip a chunk."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from kumomura.platform import events
from kumomura.platform.core.errors import Conflict, InvalidInput
from kumomura.platform.jobs import queue as jobs
from kumomura.platform.jobs.queue import JobStatus
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant
from tests.conftest import YONEZAWA, make_tenant
from tests.platform import jobkinds  # noqa: F401  (registers test.emit_chunks)


def _chunk_writes(db: Database, code: str = "062022") -> Counter[int]:
    return Counter(e.payload["chunk"] for e in events.feed(db, code, limit=10_000)
                   if e.topic == "test.chunk")


def test_job_runs_all_chunks_with_progress_and_log(db: Database, yonezawa: Tenant) -> None:
    job_id = jobs.submit(db, "062022", "test.emit_chunks", {"chunks": 4}, actor="tax1")
    seen: list[tuple[int, int]] = []
    job = jobs.run_in_process(db, job_id, on_chunk=lambda d, t: seen.append((d, t)))
    assert (job.status, job.done_chunks, job.total_chunks) == (JobStatus.DONE, 4, 4)
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert _chunk_writes(db) == {0: 3, 1: 3, 2: 3, 3: 3}
    log = [line["message"] for line in jobs.job_log_lines(db, job_id)]
    assert log[0].startswith("queued: テスト用ジョブ, 4 chunks, by tax1")
    assert log[-1] == "finished"


def test_crash_in_a_chunk_then_resume_runs_each_chunk_once(
    db: Database, yonezawa: Tenant, tmp_path: Path
) -> None:
    params = {"chunks": 6, "fail_at": 3, "fail_marker": str(tmp_path / "crashed")}
    job_id = jobs.submit(db, "062022", "test.emit_chunks", params, actor="tax1")
    with pytest.raises(RuntimeError, match="power cut in chunk 3"):
        jobs.run_in_process(db, job_id)
    job = jobs.get_job(db, job_id)
    assert (job.status, job.done_chunks) == (JobStatus.FAILED, 3)
    assert "chunk 3: power cut" in str(job.error)
    assert _chunk_writes(db) == {0: 3, 1: 3, 2: 3}  # chunk 3's writes rolled back
    assert jobs.prepare_resume(db, job_id, actor="op") == [3, 4, 5]
    job = jobs.run_in_process(db, job_id)
    assert job.status == JobStatus.DONE
    assert _chunk_writes(db) == {n: 3 for n in range(6)}
    with pytest.raises(Conflict, match="already done"):
        jobs.prepare_resume(db, job_id, actor="op")


def test_a_chunk_handed_out_twice_runs_once(db: Database, yonezawa: Tenant) -> None:
    job_id = jobs.submit(db, "062022", "test.emit_chunks", {"chunks": 2}, actor="t")
    assert jobs.run_chunk(db, job_id, 1) is True
    assert jobs.run_chunk(db, job_id, 1) is False
    assert _chunk_writes(db) == {1: 3}
    with pytest.raises(InvalidInput, match="has no chunk 7"):
        jobs.run_chunk(db, job_id, 7)


def test_unknown_kind_is_refused(db: Database, yonezawa: Tenant) -> None:
    with pytest.raises(InvalidInput, match="'nope' is not registered"):
        jobs.submit(db, "062022", "nope", {}, actor="t")


def test_jobs_are_listed_per_tenant(db: Database, yonezawa: Tenant) -> None:
    make_tenant(db, ("062090", "長井市", 1))
    a = jobs.submit(db, "062022", "test.emit_chunks", {"chunks": 1}, actor="t")
    jobs.submit(db, "062090", "test.emit_chunks", {"chunks": 1}, actor="t")
    assert [j.id for j in jobs.list_jobs(db, lg_code="062022")] == [a]
    with pytest.raises(Exception, match="does not exist"):
        jobs.get_job(db, a, lg_code="062090")


def _cli(db: Database, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "KUMOMURA_DATA_DIR": str(db.data_dir), "KUMOMURA_ACTOR": "op"}
    if db.url:
        env["KUMOMURA_DATABASE_URL"] = db.url
    code = "import tests.platform.jobkinds; from kumomura.cli import main; main()"
    return subprocess.Popen([sys.executable, "-c", code, *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_kill_9_in_the_middle_then_resume(db: Database, yonezawa: Tenant) -> None:
    """A real crash: the process running the job is killed with SIGKILL mid-run."""
    proc = _cli(db, "jobs", "run", "-t", "062022", "test.emit_chunks", "-p", "chunks=12",
                "-p", "sleep=0.15", "--here")
    deadline = time.monotonic() + 60
    job_id = None
    while time.monotonic() < deadline:
        listed = jobs.list_jobs(db, lg_code="062022")
        if listed and listed[0].done_chunks >= 3:
            job_id = listed[0].id
            break
        time.sleep(0.05)
    assert job_id is not None, proc.communicate()
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    interrupted = jobs.get_job(db, job_id)
    assert interrupted.status == JobStatus.RUNNING
    assert interrupted.done_chunks < 12
    written = _chunk_writes(db)
    assert set(written.values()) == {3}  # no chunk half-written
    resumed = _cli(db, "jobs", "resume", str(job_id), "--here")
    _out, errors = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, errors.decode()
    assert jobs.get_job(db, job_id).status == JobStatus.DONE
    assert _chunk_writes(db) == {n: 3 for n in range(12)}


def test_procrastinate_workers_run_the_chunks(pg_db: Database) -> None:
    from kumomura.platform.worker import defer_chunks, run_worker

    make_tenant(pg_db, YONEZAWA)
    job_id = jobs.submit(pg_db, "062022", "test.emit_chunks", {"chunks": 5}, actor="t")
    defer_chunks(pg_db, job_id, jobs.pending_chunks(pg_db, job_id))
    defer_chunks(pg_db, job_id, [2])  # a duplicate delivery must not write twice
    # A worker that does not wait stops when no task is ready; a task that failed under
    # load is retried 5 s later (the task's retry strategy), which a real (waiting)
    # worker takes then. So: run it again until the job is done, for at most 30 s.
    deadline = time.monotonic() + 30
    while True:
        run_worker(pg_db, concurrency=2, wait=False)
        if jobs.get_job(pg_db, job_id).status == JobStatus.DONE or \
                time.monotonic() > deadline:
            break
        time.sleep(1)
    assert jobs.get_job(pg_db, job_id).status == JobStatus.DONE, [
        line["message"] for line in jobs.job_log_lines(pg_db, job_id)]
    assert _chunk_writes(pg_db) == {n: 3 for n in range(5)}


def test_chunks_finishing_together_still_finish_the_job(db: Database,
                                                        yonezawa: Tenant) -> None:
    """Two chunks that commit at the same moment each count the other's row only if it
    committed first: both may report 2 of 3. The progress is counted again under the
    job's lock, so the job still finishes (under load it used to stay "running")."""
    job_id = jobs.submit(db, "062022", "test.emit_chunks", {"chunks": 3}, actor="t")
    job = jobs.get_job(db, job_id)
    with db.tenant_tx("062022") as conn:
        for n in range(3):
            jobs._mark(conn, job_id, n, None)
    jobs._record_progress(db, job, 1, None)  # the two that finished together
    jobs._record_progress(db, job, 2, None)
    done = jobs.get_job(db, job_id)
    assert (done.status, done.done_chunks) == (JobStatus.DONE, 3)
    jobs._record_progress(db, job, 0, None)  # a late report never goes back
    assert jobs.get_job(db, job_id).done_chunks == 3


def test_a_job_of_zero_chunks_finishes(db: Database, yonezawa: Tenant) -> None:
    job_id = jobs.submit(db, "062022", "test.emit_chunks", {"chunks": 0}, actor="t")
    assert jobs.run_in_process(db, job_id).status == JobStatus.DONE
    assert [line["message"] for line in jobs.job_log_lines(db, job_id)][-1] == "finished"
