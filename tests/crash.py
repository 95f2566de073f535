"""Killing a command at the worst moment: while its transaction writes a table."""

from __future__ import annotations

import signal
import subprocess
import time

from kumomura.platform.storage.db import Database


def kill_while_copying(db: Database, proc: subprocess.Popen[bytes], table: str,
                       *, timeout: float = 120) -> bool:
    """SIGKILL ``proc`` as soon as PostgreSQL shows it writing ``table`` (an INSERT or a
    COPY into the qualified name); whether that moment came before the command ended."""
    deadline = time.monotonic() + timeout
    writing = False
    while time.monotonic() < deadline and proc.poll() is None:
        with db.owner_engine.connect() as conn:  # others' queries: the owner's view
            writing = conn.exec_driver_sql(
                "SELECT 1 FROM pg_stat_activity WHERE state = 'active' AND query ~ "
                f"'^(INSERT INTO|COPY) \"?{table.split('.')[0]}\"?.{table.split('.')[1]}'"
            ).first() is not None
        if writing:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    proc.communicate()
    return writing
