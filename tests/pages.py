"""What the page tests of every module share: a signed-in client of 米沢市's counter with
長井市 beside it, users, login, and a move-in form."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kumomura.platform import params
from kumomura.platform.audit import AuditContext
from kumomura.platform.identity import auth
from kumomura.platform.identity.auth import Scope
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant
from kumomura.web.app import create_app
from tests.conftest import NAGAI, make_tenant

PW = "correct horse battery staple"


def _user(db: Database, name: str, roles: list[str], code: str | None = "062022",
          scope: Scope = Scope.TENANT) -> None:
    auth.create_user(db, username=name, password=PW, display_name=name, scope=scope,
                     lg_code=code, role_names=roles)


class StaffBrowser(TestClient):
    """A client that behaves as the staff's browser does: over HTTPS (the session cookie
    is Secure), and each page form posted carries the browser's CSRF token, here in its
    header (the real forms' hidden field is what the browser tests submit)."""

    def __init__(self, app: Any, **kwargs: Any) -> None:
        super().__init__(app, base_url="https://testserver", **kwargs)

    def request(self, method: str, url: Any, **kwargs: Any) -> Any:
        if method.upper() not in ("GET", "HEAD") and not str(url).startswith(
                ("/api/", "https://testserver/api/")):
            kwargs["headers"] = {"X-CSRF-Token": self.csrf_token(),
                                 **(kwargs.get("headers") or {})}
        return super().request(method, url, **kwargs)

    def csrf_token(self) -> str:
        """The browser's token (its first page gave it one)."""
        if self.cookies.get("kumomura_csrf") is None:
            super().request("GET", "/login")
        return str(self.cookies.get("kumomura_csrf"))


@pytest.fixture
def client(db: Database, yonezawa: Tenant) -> Iterator[TestClient]:
    make_tenant(db, NAGAI)
    _user(db, "clerk", ["counter_clerk"])
    with db.tenant_tx("062022") as conn:
        for name, value in (("mayor_title", "米沢市長"), ("mayor_name", "上杉 鷹雄")):
            params.set_value(conn, "residents", name, value, effective_from=date(2026, 4, 1),
                             ctx=AuditContext(actor="test"), reason="設定")
    with StaffBrowser(create_app(db=db)) as c:
        yield c


def _login(client: TestClient, name: str = "clerk", password: str = PW) -> None:
    r = client.post("/login", data={"username": name, "password": password, "next": "/"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text


MOVE_IN = {
    "moved_on": "2026-04-01", "notified_on": "2026-04-03",
    "previous_address": "宮城県仙台市青葉区国分町三丁目7番1号",
    "address.postal_code": "992-0012", "address.town": "金池三丁目1番55号",
    "persons.0.name": "佐藤 健一", "persons.0.kana": "サトウ ケンイチ",
    "persons.0.birth_date": "1975-05-05", "persons.0.sex": "1",
    "persons.0.relationship": "世帯主",
    "persons.1.name": "佐藤 由美", "persons.1.kana": "サトウ ユミ",
    "persons.1.birth_date": "1978-08-08", "persons.1.sex": "2", "persons.1.relationship": "妻",
}

