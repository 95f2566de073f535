"""procrastinate on PostgreSQL: job chunks as queued tasks, workers on any machine.

The queue lives in its own schema ``procrastinate``. A chunk task is safe to run twice
(jobs.run_chunk skips a chunk already marked done and serializes duplicates), so a task
retried after a worker died never writes its chunk twice.
"""

from __future__ import annotations

import threading

import procrastinate
from procrastinate.types import JSONValue

from kumomura.platform import audit, checkpoints, events
from kumomura.platform.audit import AuditContext
from kumomura.platform.core.config import backup_keys, get_settings
from kumomura.platform.jobs import queue as jobs
from kumomura.platform.jobs.broker import QUEUE, connector
from kumomura.platform.resilience import backup
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import tenant_codes

CHUNK_TASK = "kumomura.run_chunk"
BACKUP_TASK = "kumomura.backup_all"
CHECKPOINT_TASK = "kumomura.audit_checkpoints"


def build_app(db: Database) -> procrastinate.App:
    """The procrastinate app with kumomura's tasks, bound to a Database."""
    app = procrastinate.App(connector=connector(db))

    @app.task(name=CHUNK_TASK, queue=QUEUE,
              retry=procrastinate.RetryStrategy(max_attempts=3, wait=5))
    def run_chunk(job_id: int, chunk_no: int) -> None:
        jobs.run_chunk(db, job_id, chunk_no)

    @app.periodic(cron="* * * * *")
    @app.task(name="kumomura.retry_stalled", queue=QUEUE, queueing_lock="retry_stalled",
              pass_context=True)
    async def retry_stalled(context: procrastinate.JobContext, timestamp: int) -> None:
        """Chunks whose worker stopped sending heartbeats (killed, machine lost) go back
        to the queue; running them again is safe."""
        for job in await context.app.job_manager.get_stalled_jobs():
            await context.app.job_manager.retry_job(job)

    settings = get_settings()

    @app.periodic(cron=settings.audit_checkpoint_cron)
    @app.task(name=CHECKPOINT_TASK, queue=QUEUE, queueing_lock="audit_checkpoints")
    def audit_checkpoints(timestamp: int) -> None:
        """Sign every municipality's audit chain tip (one worker takes it)."""
        for code in tenant_codes(db):
            checkpoints.sign(db, code, settings)

    if settings.backup_target:
        target = settings.backup_target

        @app.periodic(cron=settings.backup_cron)
        @app.task(name=BACKUP_TASK, queue=QUEUE, queueing_lock="backup_all")
        def backup_all(timestamp: int) -> None:
            """The scheduled backup of every municipality (one worker takes it)."""
            backup.run_all(db, target, key_dir=backup_keys(settings),
                           keep=settings.backup_keep,
                           ctx=AuditContext(actor="system:backup", purpose="定期バックアップ"))

    return app


def defer_chunks(db: Database, job_id: int, chunk_numbers: list[int]) -> None:
    """Queue chunks for the workers."""
    if not chunk_numbers:
        return
    app = build_app(db)
    payloads: list[dict[str, JSONValue]] = [{"job_id": job_id, "chunk_no": n}
                                            for n in chunk_numbers]
    with app.open():
        app.configure_task(CHUNK_TASK).batch_defer(*payloads)


def run_worker(db: Database, *, concurrency: int = 2, wait: bool = True,
               dispatch_interval: float = 2.0) -> None:
    """Run chunk tasks until stopped (or, with ``wait=False``, until the queue is empty),
    dispatching events and sealing audit entries of every tenant alongside."""
    app = build_app(db)
    stop = threading.Event()
    dispatcher = threading.Thread(target=events.dispatch_until,
                                  args=(db, tenant_codes, stop, dispatch_interval),
                                  daemon=True, name="event-dispatch")
    sealer = threading.Thread(target=audit.seal_until,
                              args=(db, tenant_codes, stop, get_settings().audit_seal_seconds),
                              daemon=True, name="audit-seal")
    dispatcher.start()
    sealer.start()
    try:
        app.run_worker(queues=[QUEUE], concurrency=concurrency, wait=wait)
    finally:
        stop.set()
        dispatcher.join(timeout=10)
        sealer.join(timeout=10)
