"""Jobs as the API and pages show and start them: on PostgreSQL the workers take the
chunks, on SQLite the web process runs them after the response."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import BackgroundTasks

from kumomura.platform.jobs import queue as jobs
from kumomura.platform.storage.db import Database
from kumomura.platform.worker import defer_chunks

log = logging.getLogger(__name__)


def job_json(j: jobs.Job) -> dict[str, Any]:
    return {"id": j.id, "lg_code": j.lg_code, "kind": j.kind, "params": j.params,
            "status": j.status, "done_chunks": j.done_chunks, "total_chunks": j.total_chunks,
            "progress": round(j.progress, 4), "created_by": j.created_by, "error": j.error}


def start_job(db: Database, job_id: int, background: BackgroundTasks) -> None:
    if db.is_postgres:
        defer_chunks(db, job_id, jobs.pending_chunks(db, job_id))
    else:
        background.add_task(_run_in_background, db, job_id)


def _run_in_background(db: Database, job_id: int) -> None:
    """A failing job is marked FAILED with its error and logged; the web process goes on."""
    try:
        jobs.run_in_process(db, job_id)
    except Exception:
        log.warning("job %s failed (see its log)", job_id, exc_info=True)
