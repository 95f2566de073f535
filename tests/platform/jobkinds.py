"""A job kind for the tests: each chunk writes events into the tenant's outbox, so that
'each chunk's writes happen exactly once' can be counted after crashes and restarts."""

import time
from pathlib import Path
from typing import Any

from pydantic import Field
from sqlalchemy import Connection

from kumomura.platform import events
from kumomura.platform.jobs import queue as jobs


def _plan(conn: Connection, params: dict[str, Any]) -> int:
    return int(params["chunks"])


def _run(conn: Connection, params: dict[str, Any], chunk_no: int) -> dict[str, Any]:
    for i in range(int(params.get("per_chunk", 3))):
        events.emit_raw(conn, "test.chunk", {"chunk": chunk_no, "i": i})
    time.sleep(float(params.get("sleep", 0)))
    marker = params.get("fail_marker")
    if params.get("fail_at") == chunk_no and marker and not Path(marker).exists():
        Path(marker).touch()
        raise RuntimeError(f"power cut in chunk {chunk_no}")
    return {"rows": int(params.get("per_chunk", 3))}


class EmitChunks(jobs.JobRequest):
    chunks: int = Field(ge=0, le=1_000_000)
    per_chunk: int = 3
    sleep: float = 0
    fail_at: int | None = None
    fail_marker: str | None = None


KIND = jobs.register(jobs.JobKind(name="test.emit_chunks", title="テスト用ジョブ",
                                  module="residents", plan=_plan, run_chunk=_run,
                                  request=EmitChunks))
