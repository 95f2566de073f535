"""Batch jobs: split into chunks, with progress, a log, and a restart that is exact.

A chunk's writes and the mark that the chunk is done commit in one tenant transaction, so
after a crash a restart runs exactly the chunks without a mark: none twice, none skipped.
The job's row in the control plane (status, progress, log) is bookkeeping derived from
those marks. On PostgreSQL chunks are procrastinate tasks that any number of workers on
any number of machines run (``kumomura worker``); on SQLite an in-process runner runs them.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import (
    JSON,
    Column,
    Connection,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    insert,
    select,
    text,
    update,
)

from kumomura.platform.core.errors import Conflict, FieldProblem, InvalidInput, NotFound, invalid
from kumomura.platform.core.messages import problems
from kumomura.platform.core.timeutil import Timestamp, utcnow
from kumomura.platform.storage.db import Database, platform_metadata, tenant_metadata


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


jobs = Table(
    "jobs",
    platform_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("lg_code", String(6), ForeignKey("platform.tenants.lg_code"), nullable=False,
           index=True),
    Column("kind", String(128), nullable=False),
    Column("params", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("total_chunks", Integer, nullable=False),
    Column("done_chunks", Integer, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", Timestamp(), nullable=False),
    Column("started_at", Timestamp()),
    Column("finished_at", Timestamp()),
    Column("error", Text),
)

job_log = Table(
    "job_log",
    platform_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", Integer, ForeignKey("platform.jobs.id"), nullable=False, index=True),
    Column("at", Timestamp(), nullable=False),
    Column("level", String(8), nullable=False),
    Column("message", Text, nullable=False),
)

job_chunks = Table(
    "job_chunks",
    tenant_metadata,
    Column("job_id", Integer, primary_key=True, autoincrement=False),
    Column("chunk_no", Integer, primary_key=True, autoincrement=False),
    Column("done_at", Timestamp(), nullable=False),
    Column("summary", JSON),
)
"""In the tenant's schema, so that the mark commits with the chunk's own writes."""


ChunkResult = dict[str, Any] | None


MAX_CHUNKS = 5_000
"""A job of more chunks is refused: a year's assessment of a million taxpayers is 100."""


class JobRequest(BaseModel):
    """Base of what a caller may give to start a job kind: nothing the server knows
    (actor, municipality, directories, chunk shapes) and nothing unknown."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Prepare = Callable[[Database, str, Any, str], dict[str, Any]]
"""(db, lg_code, the validated request, actor) -> the job's params, which the server
completes (the actor, the municipality's name, a run's directory, chunk shapes)."""


@dataclass(frozen=True)
class JobKind:
    """A kind of batch job a module offers.

    ``plan`` counts the chunks (in a tenant transaction, read-only); ``run_chunk`` does one
    chunk's work in the tenant transaction that also marks it done, and may return a small
    summary kept with the mark. It gets the job's params with ``job_id``, ``lg_code`` and
    ``data_dir`` added, so that what it writes can name the job and find its files.
    """

    name: str
    title: str
    module: str
    plan: Callable[[Connection, dict[str, Any]], int]
    run_chunk: Callable[[Connection, dict[str, Any], int], ChunkResult] | None = None
    run_alone: Callable[[Database, str, dict[str, Any]], ChunkResult] | None = None
    """For work that keeps its own transactions (an import or a restore replaces the
    tenant's tables): a job of one chunk, marked done after the work commits. The work must
    give the same end state when run again (a crash between the two runs it twice)."""
    request: type[JobRequest] | None = None
    """What a caller may give through ``start_requested`` (the generic API and CLI); a kind
    without one starts only from its own page or command."""
    prepare: Prepare | None = None
    """Completes the validated request into the job's params; without it, the request's
    fields are the params."""


_KINDS: dict[str, JobKind] = {}


def run_directory(p: dict[str, Any], area: str) -> Path:
    """A run's directory, ``data_dir/<area>/<lg_code>/<run>``: the run's name comes from
    the job's params and must be a bare name, never a path out of the area."""
    run = str(p["directory"])
    if Path(run).name != run or run.startswith("."):
        raise InvalidInput("directory は実行名だけを指定します", field="directory")
    return Path(str(p["data_dir"])) / area / str(p["lg_code"]) / run


def register(kind: JobKind) -> JobKind:
    _KINDS[kind.name] = kind
    return kind


def kind_of(name: str) -> JobKind:
    try:
        return _KINDS[name]
    except KeyError:
        raise InvalidInput(f"job kind {name!r} is not registered (known: "
                           f"{', '.join(sorted(_KINDS)) or 'none'})", field="kind") from None


def kinds() -> list[JobKind]:
    return [_KINDS[k] for k in sorted(_KINDS)]


@dataclass(frozen=True)
class Job:
    id: int
    lg_code: str
    kind: str
    params: dict[str, Any]
    status: JobStatus
    total_chunks: int
    done_chunks: int
    created_by: str
    error: str | None
    row: dict[str, Any]

    @property
    def progress(self) -> float:
        return 1.0 if self.total_chunks == 0 else self.done_chunks / self.total_chunks


def _log(conn: Connection, job_id: int, message: str, level: str = "info") -> None:
    conn.execute(insert(job_log).values(job_id=job_id, at=utcnow(), level=level,
                                        message=message))


def submit(db: Database, lg_code: str, kind_name: str, params: dict[str, Any], *,
           actor: str) -> int:
    """Plan a job and record it as queued; the caller (or a worker) then runs it."""
    kind = kind_of(kind_name)
    with db.tenant_tx(lg_code) as tconn:
        total = kind.plan(tconn, params)
    if total < 0:
        raise InvalidInput(f"{kind_name}: plan returned {total} chunks", field="params")
    if total > MAX_CHUNKS:
        raise InvalidInput(f"{kind_name}: {total:,} 個の区切りは上限 {MAX_CHUNKS:,} を超えます "
                           "(区切りの大きさを見直してください)", field="params")
    with db.platform_tx() as conn:
        job_id = conn.execute(insert(jobs).values(
            lg_code=lg_code, kind=kind_name, params=params, status=JobStatus.QUEUED,
            total_chunks=total, done_chunks=0, created_by=actor, created_at=utcnow(),
        ).returning(jobs.c.id)).scalar_one()
        _log(conn, job_id, f"queued: {kind.title}, {total} chunks, by {actor}")
    return int(job_id)


def start_requested(db: Database, lg_code: str, kind_name: str, raw: dict[str, Any], *,
                    actor: str) -> int:
    """Submit a job from a caller's parameters (the API's ``POST .../jobs``, ``kumomura jobs
    run``): validated against the kind's request model, a field the server sets or does
    not know refused by name, then completed by the server."""
    kind = kind_of(kind_name)
    if kind.request is None:
        raise InvalidInput(f"{kind.title} は専用の画面・コマンドから開始します", field="kind")
    try:
        request = kind.request.model_validate(raw)
    except ValidationError as exc:
        raise invalid([FieldProblem(f"params.{p.field}" if p.field else "params", p.message)
                       for p in problems(exc)]) from None
    params = (kind.prepare(db, lg_code, request, actor) if kind.prepare is not None
              else request.model_dump(mode="json"))
    return submit(db, lg_code, kind_name, params, actor=actor)


def get_job(db: Database, job_id: int, *, lg_code: str | None = None) -> Job:
    """A job; with ``lg_code``, only that tenant's (another tenant's job is not found)."""
    with db.platform_tx() as conn:
        q = select(jobs).where(jobs.c.id == job_id)
        if lg_code is not None:
            q = q.where(jobs.c.lg_code == lg_code)
        row = conn.execute(q).mappings().first()
    if row is None:
        raise NotFound(f"job {job_id} does not exist", field="job_id")
    r = dict(row)
    return Job(id=r["id"], lg_code=r["lg_code"], kind=r["kind"], params=r["params"],
               status=JobStatus(r["status"]), total_chunks=r["total_chunks"],
               done_chunks=r["done_chunks"], created_by=r["created_by"], error=r["error"], row=r)


def list_jobs(db: Database, *, lg_code: str | None = None, limit: int = 50) -> list[Job]:
    with db.platform_tx() as conn:
        q = select(jobs.c.id).order_by(jobs.c.id.desc()).limit(limit)
        if lg_code is not None:
            q = q.where(jobs.c.lg_code == lg_code)
        ids = conn.execute(q).scalars().all()
    return [get_job(db, i) for i in ids]


def job_log_lines(db: Database, job_id: int) -> list[dict[str, Any]]:
    with db.platform_tx() as conn:
        rows = conn.execute(select(job_log).where(job_log.c.job_id == job_id)
                            .order_by(job_log.c.id)).mappings().all()
    return [dict(r) for r in rows]


def done_chunk_numbers(db: Database, job: Job) -> set[int]:
    with db.tenant_tx(job.lg_code) as conn:
        return set(conn.execute(select(job_chunks.c.chunk_no)
                                .where(job_chunks.c.job_id == job.id)).scalars())


def _lock_chunk(conn: Connection, db: Database, job_id: int, chunk_no: int) -> None:
    """Serialize two workers that were handed the same chunk (PostgreSQL; SQLite's
    BEGIN IMMEDIATE already serializes writers)."""
    if db.is_postgres:
        conn.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"),
                     {"a": job_id, "b": chunk_no})


def _mark(conn: Connection, job_id: int, chunk_no: int, summary: ChunkResult) -> None:
    """Mark a chunk done (once)."""
    exists = conn.execute(select(job_chunks.c.chunk_no).where(
        job_chunks.c.job_id == job_id, job_chunks.c.chunk_no == chunk_no)).first()
    if exists is None:
        conn.execute(insert(job_chunks).values(job_id=job_id, chunk_no=chunk_no,
                                               done_at=utcnow(), summary=summary))


def run_chunk(db: Database, job_id: int, chunk_no: int) -> bool:
    """Run one chunk unless it is already done; return whether it ran now."""
    job = get_job(db, job_id)
    kind = kind_of(job.kind)
    if not 0 <= chunk_no < job.total_chunks:
        raise InvalidInput(f"job {job_id} has no chunk {chunk_no}", field="chunk_no")
    with db.platform_tx() as conn:
        conn.execute(update(jobs).where(jobs.c.id == job_id, jobs.c.status == JobStatus.QUEUED)
                     .values(status=JobStatus.RUNNING, started_at=utcnow()))
    try:
        with db.tenant_tx(job.lg_code) as tconn:
            _lock_chunk(tconn, db, job_id, chunk_no)
            already = tconn.execute(select(job_chunks.c.chunk_no).where(
                job_chunks.c.job_id == job_id, job_chunks.c.chunk_no == chunk_no)).first()
            if already is not None:
                return False
            if kind.run_alone is None:
                assert kind.run_chunk is not None, f"job kind {kind.name} runs nothing"
                summary = kind.run_chunk(tconn, {**job.params, "job_id": job.id,
                                                  "lg_code": job.lg_code,
                                                  "data_dir": str(db.data_dir)}, chunk_no)
                _mark(tconn, job_id, chunk_no, summary)
        if kind.run_alone is not None:
            summary = kind.run_alone(db, job.lg_code, job.params)
            with db.tenant_tx(job.lg_code) as tconn:
                _lock_chunk(tconn, db, job_id, chunk_no)
                _mark(tconn, job_id, chunk_no, summary)
    except Exception as exc:
        with db.platform_tx() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(
                status=JobStatus.FAILED, error=f"chunk {chunk_no}: {exc}",
                finished_at=utcnow()))
            _log(conn, job_id, f"chunk {chunk_no} failed: {exc}\n"
                 f"{traceback.format_exc(limit=5)}", level="error")
        raise
    _record_progress(db, job, chunk_no, summary)
    return True


def _record_progress(db: Database, job: Job, chunk_no: int, summary: ChunkResult) -> None:
    """The job's progress after a chunk. Counted inside the chunk's own transaction, two
    chunks finishing together would each miss the other's row (so both say 2 of 3 and
    the job never finishes); counted after the commit, the chunk that gets here last
    sees them all. The count is taken before the job's lock (never a tenant transaction
    inside the platform's), and progress never goes back."""
    job_id = job.id
    counted = len(done_chunk_numbers(db, job))
    with db.platform_tx() as conn:
        total, before = conn.execute(select(jobs.c.total_chunks, jobs.c.done_chunks)
                                     .where(jobs.c.id == job_id).with_for_update()).one()
        if before >= total:
            return  # finished already (a late chunk's report adds nothing)
        done = max(before, counted)
        values: dict[str, Any] = {"done_chunks": done}
        if done >= total:
            values |= {"status": JobStatus.DONE, "finished_at": utcnow(), "error": None}
        conn.execute(update(jobs).where(jobs.c.id == job_id).values(**values))
        note = f"chunk {chunk_no} done ({done}/{total})"
        if summary:
            note += f": {summary}"
        _log(conn, job_id, note)
        if done >= total:
            _log(conn, job_id, "finished")


def pending_chunks(db: Database, job_id: int) -> list[int]:
    job = get_job(db, job_id)
    done = done_chunk_numbers(db, job)
    return [n for n in range(job.total_chunks) if n not in done]


def prepare_resume(db: Database, job_id: int, *, actor: str) -> list[int]:
    """Put a failed or interrupted job back in the queue; return the chunks still to run."""
    job = get_job(db, job_id)
    if job.status == JobStatus.DONE:
        raise Conflict(f"job {job_id} is already done", field="job_id")
    todo = pending_chunks(db, job_id)
    with db.platform_tx() as conn:
        conn.execute(update(jobs).where(jobs.c.id == job_id).values(
            status=JobStatus.QUEUED if todo else JobStatus.DONE,
            done_chunks=job.total_chunks - len(todo), error=None, finished_at=None))
        _log(conn, job_id, f"resumed by {actor}: {len(todo)} chunks to run")
    return todo


def run_in_process(db: Database, job_id: int,
                   on_chunk: Callable[[int, int], None] | None = None) -> Job:
    """Run every chunk not yet done, in order, in this process (SQLite, CLI, tests)."""
    todo = pending_chunks(db, job_id)
    total = get_job(db, job_id).total_chunks
    if not todo:  # e.g. a job of zero chunks, or one whose last chunk ran before a crash
        with db.platform_tx() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(
                status=JobStatus.DONE, done_chunks=total, finished_at=utcnow(), error=None))
            _log(conn, job_id, "finished")
    for chunk_no in todo:
        run_chunk(db, job_id, chunk_no)
        if on_chunk is not None:
            on_chunk(get_job(db, job_id).done_chunks, total)
    return get_job(db, job_id)
