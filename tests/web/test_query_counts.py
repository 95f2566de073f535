"""Query-count budgets of the busiest pages and API routes (as netbox's query_counts.json):
a change that adds a query per row, or a lookup per request, fails here before it slows
a counter. Budgets are per backend; lower them when a change saves queries.

    KUMOMURA_WRITE_QUERY_COUNTS=1 ./dev test tests/web/test_query_counts.py  # re-measure
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from kumomura.platform.audit import AuditContext
from kumomura.platform.identity import auth, tokens
from kumomura.platform.identity.auth import Scope
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant
from kumomura.residents import changes as ch
from kumomura.web.app import create_app
from tests.pages import StaffBrowser
from tests.residents.factories import family

BUDGETS = Path(__file__).parent / "query_counts.json"
PW = "correct horse battery staple"
ROUTES = (
    ("page", "/t/062022/residents/results?kana=ヤマダ"),
    ("page", "/t/062022/residents/{atena_no}"),
    ("page", "/t/062022/residents/{atena_no}/certificate"),
    ("page", "/t/062022/seals/{atena_no}"),
    ("page", "/t/062022/tax/{atena_no}?year=2026"),
    ("page", "/t/062022/jobs"),
    ("api", "/api/v1/t/062022/residents?kana=ヤマダ"),
    ("api", "/api/v1/t/062022/residents/{atena_no}"),
    ("api", "/api/v1/t/062022/residents/{atena_no}/history"),
    ("api", "/api/v1/t/062022/events"),
)


BACKGROUND = frozenset({"event-dispatch", "api-call-counts", "audit-seal"})
"""The app's own background threads (event delivery, the call counter, the audit
sealer): their queries are not the request's."""


class Counter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_args: Any) -> None:
        if threading.current_thread().name not in BACKGROUND:
            self.count += 1


@pytest.fixture
def clients(db: Database, yonezawa: Tenant) -> Iterator[tuple[TestClient, dict[str, str], str]]:
    with db.tenant_tx("062022") as conn:
        atena_no = ch.move_in(conn, AuditContext(actor="test"), family()).atena_nos[0]
    for name, roles in (("clerk", ["counter_clerk", "tax_officer"]),
                        ("link", ["registry_editor", "linkage_client"])):
        auth.create_user(db, username=name, password=PW, display_name=name,
                         scope=Scope.TENANT, lg_code="062022", role_names=roles)
    token = {"Authorization": f"Bearer {tokens.issue(db, 'link', 'test')}"}
    with StaffBrowser(create_app(db=db)) as client:
        assert client.post("/login", data={"username": "clerk", "password": PW},
                           follow_redirects=False).status_code == 303
        yield client, token, atena_no


def test_the_busiest_routes_keep_their_query_budgets(
        db: Database, clients: tuple[TestClient, dict[str, str], str]) -> None:
    client, token, atena_no = clients
    counts: dict[str, int] = {}
    for kind, template in ROUTES:
        path = template.format(atena_no=atena_no)
        headers = token if kind == "api" else {}
        assert client.get(path, headers=headers).status_code == 200, path  # warm caches
        counter = Counter()
        event.listen(Engine, "before_cursor_execute", counter)
        try:
            response = client.get(path, headers=headers)
        finally:
            event.remove(Engine, "before_cursor_execute", counter)
        assert response.status_code == 200, path
        counts[template] = counter.count
    budgets: dict[str, dict[str, int]] = json.loads(BUDGETS.read_text(encoding="utf-8"))
    if os.environ.get("KUMOMURA_WRITE_QUERY_COUNTS") == "1":
        for template, count in counts.items():
            budgets.setdefault(template, {})[db.dialect] = count
        BUDGETS.write_text(json.dumps(budgets, ensure_ascii=False, indent=1, sort_keys=True)
                           + "\n", encoding="utf-8")
    over = {t: (c, budgets[t][db.dialect]) for t, c in counts.items()
            if c > budgets[t][db.dialect]}
    assert over == {}, f"queries over budget (measured, budget): {over}"
