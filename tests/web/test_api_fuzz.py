"""The API fuzzed from its own OpenAPI (schemathesis): for every operation, generated
requests with two municipalities' tokens never get a 5xx, and never carry the other
municipality's people. Bounded to a few examples per operation, to fit the suite."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from kumomura.platform.identity import tokens
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy.tenants import Tenant
from kumomura.residents import changes as ch
from kumomura.web.app import create_app
from tests.conftest import NAGAI, make_tenant
from tests.pages import _user
from tests.residents.factories import CTX, family

EXAMPLES = 4
"""Generated requests per operation and municipality (the suite's budget)."""
SECRET_NAME = "長井 秘子"
"""A 長井市 resident's name that no answer to 米沢市's staff may carry."""


@pytest.fixture
def two_towns(db: Database, yonezawa: Tenant) -> Iterator[tuple[Any, dict[str, str]]]:
    make_tenant(db, NAGAI)
    with db.tenant_tx("062022") as conn:
        ch.move_in(conn, CTX, family())
    with db.tenant_tx("062090") as conn:
        people = family()
        people.persons[0].name = SECRET_NAME
        ch.move_in(conn, CTX, people)
    every = ["registry_editor", "tax_officer", "municipal_it", "linkage_client"]
    _user(db, "yone", every)
    _user(db, "nagai", every, code="062090")
    app = create_app(db=db)
    with TestClient(app):
        yield app, {code: f"Bearer {tokens.issue(db, name, 'fuzz')}"
                    for code, name in (("062022", "yone"), ("062090", "nagai"))}


def _operations(app: Any) -> list[Any]:
    """Every operation of the app's OpenAPI (a part it could not read fails the test)."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    results: list[Any] = list(schema.get_all_operations())
    return [result.ok() for result in results]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_generated_requests_get_no_5xx_and_no_other_towns_people(
        two_towns: tuple[Any, dict[str, str]], mode: GenerationMode) -> None:
    """米沢市's token on every operation, at its own town's paths and at 長井市's."""
    app, bearer = two_towns
    operations = _operations(app)
    assert len(operations) >= 40
    failures: list[str] = []
    calls: list[int] = []
    for operation in operations:
        towns = ["062022", "062090"] if "{lg_code}" in operation.path else [None]
        for code in towns:
            strategy = operation.as_strategy(
                mode, path_parameters={"lg_code": code} if code else None)

            @given(case=strategy)
            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            def call(case: Any) -> None:
                answer = case.call(headers={"Authorization": bearer["062022"]})
                calls.append(answer.status_code)
                label = f"{case.method} {case.formatted_path} {case.query}"
                if answer.status_code >= 500:
                    failures.append(f"{label}: {answer.status_code} {answer.text[:200]}")
                if SECRET_NAME in answer.text:
                    failures.append(f"{label}: 長井市の住民が見えた")

            try:
                call()
            except Unsatisfiable:  # nothing of it can be made invalid (negative mode)
                assert mode is GenerationMode.NEGATIVE, operation.label
    assert failures == []
    assert len(calls) >= len(operations) * 2  # the requests were made
    assert {s for s in calls if s < 300}, "nothing was ever answered: the fuzz saw no API"
