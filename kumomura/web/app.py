"""FastAPI app factory: request ids, problem+json errors, health, and the API routers."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kumomura import __version__, catalog
from kumomura.platform import audit, events
from kumomura.platform.core.config import Settings, get_settings
from kumomura.platform.core.errors import KumomuraError
from kumomura.platform.core.messages import japanese
from kumomura.platform.http.bodies import read_ahead
from kumomura.platform.http.csrf import CsrfGuard
from kumomura.platform.http.deps import PrincipalCache
from kumomura.platform.storage.db import Database, open_database
from kumomura.platform.tenancy.tenants import tenant_codes
from kumomura.platform.tenancy.usage import CallCounter

log = logging.getLogger(__name__)

PROBLEM = "application/problem+json"
WEB = Path(__file__).parent


def problem(request: Request, status: int, title: str, detail: str,
            **extra: Any) -> JSONResponse:
    """An RFC 9457 problem document carrying the request id."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail,
            "instance": request.url.path,
            "request_id": getattr(request.state, "request_id", None), **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


class RequestTiming:
    """Pure ASGI middleware: a request id on every request and response, the app's time
    in ``Server-Timing`` (for monitoring and the benchmarks), and the count of each
    municipality's API calls (a usage key of the cost sharing)."""

    def __init__(self, app: ASGIApp, calls: CallCounter | None = None) -> None:
        self.app = app
        self.calls = calls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("x-request-id", "")
        request_id = given if 0 < len(given) <= 64 else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        if self.calls is not None:
            self.calls.count(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
            await send(message)

        await self.app(scope, receive, send_with_headers)


PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
               "img-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
               "frame-ancestors 'none'")
"""Staff pages run no inline script and load nothing from elsewhere (inline style
attributes stay: the console's timelines place their bars with them)."""
OPEN_API_PAGES = ("/docs", "/redoc")
"""FastAPI's API documentation pages, whose script comes from a CDN: no page policy."""


class SecurityHeaders:
    """Headers on every response: no sniffing, no framing, no referrer beyond the site;
    nothing kept in a cache (pages and API answers carry personal data) except the static
    files; and on staff pages a content policy without inline script."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers["Referrer-Policy"] = "same-origin"
                if not path.startswith("/static/"):
                    headers["Cache-Control"] = "no-store"
                if not path.startswith(OPEN_API_PAGES):
                    headers["Content-Security-Policy"] = PAGE_POLICY
            await send(message)

        await self.app(scope, receive, send_with_headers)


NUL_BODY_LIMIT = 16 << 20
"""JSON and form bodies up to this size are read for NUL characters first (uploads are
multipart and checked file by file by the import)."""


def _nul_in(value: Any, where: str) -> str | None:
    """The place of the first string holding a NUL in a JSON value, if any."""
    if isinstance(value, str):
        return where if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _nul_in(key, where) or _nul_in(item, f"{where}.{key}")
            if found:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _nul_in(item, f"{where}.{i}")
            if found:
                return found
    return None


class RefuseNul:
    """A NUL character in a query, form or JSON string is refused with a 422 naming
    the field: no text column takes one (PostgreSQL refuses it: it was a 500)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        found = next((f"query.{key}" for key, value in parse_qsl(
            scope["query_string"].decode("latin-1"), keep_blank_values=True)
            if "\x00" in key or "\x00" in value), None)
        headers = Headers(scope=scope)
        kind = headers.get("content-type", "").split(";")[0].strip()
        size = int(headers.get("content-length") or 0)
        if found is None and kind in ("application/json", "application/x-www-form-urlencoded") \
                and 0 < size <= NUL_BODY_LIMIT:
            body, receive = await read_ahead(receive, limit=NUL_BODY_LIMIT)
            found = self._in_body(kind, body)
        if found is not None:
            response = JSONResponse(status_code=422, media_type=PROBLEM, content={
                "type": "about:blank", "title": "Invalid input", "status": 422,
                "detail": f"{found}: NUL 文字は使えません", "instance": scope["path"],
                "field": found, "errors": [{"field": found, "message": "NUL 文字は使えません"}]})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    @staticmethod
    def _in_body(kind: str, body: bytes) -> str | None:
        if kind == "application/x-www-form-urlencoded":
            return next((f"body.{key}" for key, value in parse_qsl(
                body.decode("utf-8", "replace"), keep_blank_values=True)
                if "\x00" in key or "\x00" in value), None)
        try:
            return _nul_in(json.loads(body), "body")
        except ValueError:  # not JSON: the route's own validation says so
            return None


class DegradedOnly:
    """縮退運用: reads, logins and certificate issues only; every other write is refused,
    so nothing is changed at the town hall that the cloud would not know of."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in ("GET", "HEAD"):
            path: str = scope["path"]
            if path not in ("/login", "/logout") and not (
                    path.startswith("/t/") and path.endswith("/certificate")):
                detail = "縮退運用中は照会と証明書の交付だけができます"
                response = JSONResponse(status_code=403,
                                        content={"title": "縮退運用中", "detail": detail})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _refuse_forgery(scope: Scope, receive: Receive, send: Send, message: str) -> None:
    """A state-changing page request without the browser's token: a Japanese page, 403."""
    from kumomura.platform.http.pages import render

    request = Request(scope, receive)
    response = render(request, "error.html", status_code=403, title="受け付けできません",
                      message=f"{message} (request_id {request.state.request_id})")
    await response(scope, receive, send)


def _is_page(request: Request) -> bool:
    """Staff pages answer in HTML; the API (and its docs) in JSON."""
    path = request.url.path
    return not (path.startswith("/api/") or path in ("/healthz", "/readyz", "/openapi.json")
                or (path.startswith("/oidc/") and not path.endswith("/authorize")))


def _install_error_handlers(app: FastAPI) -> None:
    from kumomura.platform.http.pages import LoginRequired, login_redirect, render

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        return login_redirect(request, exc.message)

    titles = {404: "見つかりません", 403: "権限がありません", 405: "この操作はできません",
              409: "処理できません", 422: "入力を確認してください"}

    def page_error(request: Request, status: int, message: str) -> Response:
        """Staff see a Japanese page with the request id, never a raw problem document."""
        return render(request, "error.html", status_code=status,
                      title=titles.get(status, "エラー"),
                      message=f"{message} (request_id {request.state.request_id})")

    @app.exception_handler(KumomuraError)
    async def _domain(request: Request, exc: KumomuraError) -> Response:
        if _is_page(request):
            return page_error(request, exc.status, exc.message)
        extra: dict[str, Any] = {"field": exc.field} if exc.field else {}
        if exc.problems:
            extra["errors"] = [{"field": p.field, "message": p.message} for p in exc.problems]
        return problem(request, exc.status, exc.title, exc.message, **extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        out_of_range = [e for e in exc.errors() if e["loc"][0] == "path"
                        and e["type"] in ("less_than_equal", "greater_than_equal")]
        if out_of_range and len(out_of_range) == len(exc.errors()):  # names nothing
            field = str(out_of_range[0]["loc"][-1])
            missing = f"{field} {out_of_range[0]['input']} はありません"
            if _is_page(request):
                return page_error(request, 404, missing)
            return problem(request, 404, "Not found", missing, field=field)
        errors = [{"field": ".".join(str(p) for p in e["loc"]), "message": japanese(e)}
                  for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        if _is_page(request):
            return page_error(request, 422, detail)
        return problem(request, 422, "Invalid input", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if _is_page(request):
            return page_error(request, exc.status_code, "このページはありません"
                              if exc.status_code == 404 else str(exc.detail))
        return problem(request, exc.status_code, str(exc.detail), str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error in %s", request.url.path)
        if _is_page(request):
            request_id = request.state.request_id
            return render(request, "error.html", status_code=500, title="内部エラー",
                          message="内部エラーが発生しました。画面の時刻と操作を添えて"
                                  f"運用者に連絡してください (request_id {request_id})。")
        return problem(request, 500, "Internal error",
                       "内部エラーが発生しました。request_id を添えて運用者に連絡してください。")


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    """Build the app; tests pass their own Database."""
    from kumomura.platform.http import pages as page_kit
    from kumomura.web import (
        account_pages,
        api_layouts,
        api_platform,
        api_restores,
        oidc_pages,
        pages,
        platform_pages,
    )

    modules = catalog.install()
    page_kit.use_templates([WEB / "templates"])
    # Latency before throughput: with the default 5 ms, a request thread running Python
    # keeps the event loop and the other requests waiting for the GIL that long each time
    # (measured: kana search p95 49 ms -> 18 ms at 50 clients; docs/performance.md).
    sys.setswitchinterval(0.0005)
    settings = settings or get_settings()
    database = db or open_database(settings, owner=False)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Embedded deployments have no worker: the web process delivers events itself.
        stop = threading.Event()
        if not database.is_postgres:
            threading.Thread(target=events.dispatch_until, args=(database, tenant_codes, stop, 2.0),
                             daemon=True, name="event-dispatch").start()
        counting = threading.Thread(target=calls.flush_every, args=(database, stop, 5.0),
                                    daemon=True, name="api-call-counts")
        counting.start()
        sealing = threading.Thread(target=audit.seal_until, daemon=True, name="audit-seal",
                                   args=(database, tenant_codes, stop,
                                         settings.audit_seal_seconds))
        sealing.start()
        yield
        stop.set()
        counting.join(timeout=10)
        sealing.join(timeout=10)
        if db is None:
            database.dispose()

    app = FastAPI(title="kumomura", version=__version__, lifespan=lifespan,
                  description="雲村: 自治体クラウドの基幹系業務 API")
    app.state.db = database
    app.state.settings = settings

    calls = CallCounter()
    app.state.calls = calls
    app.add_middleware(CsrfGuard, refuse=_refuse_forgery, secure=settings.cookie_secure,
                       exempt_prefixes=("/api/", "/oidc/"))
    app.add_middleware(RequestTiming, calls=calls)
    app.add_middleware(RefuseNul)
    app.add_middleware(SecurityHeaders)
    if settings.degraded:
        app.add_middleware(DegradedOnly)
    app.state.degraded = settings.degraded
    app.state.principals = PrincipalCache(ttl=settings.auth_cache_seconds)

    _install_error_handlers(app)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], response_model=None)
    def readyz(request: Request) -> dict[str, str] | Response:
        """The database answers."""
        try:
            database.ping()
        except Exception as exc:
            return problem(request, 503, "Not ready", f"database unreachable: {type(exc).__name__}")
        return {"status": "ready", "database": database.dialect}

    app.include_router(api_platform.router)
    app.include_router(api_layouts.router)
    app.include_router(api_restores.router)
    app.include_router(pages.router)
    app.include_router(platform_pages.router)
    app.include_router(account_pages.router)
    app.include_router(oidc_pages.router)
    for module in modules:
        if module.router is not None:
            app.include_router(module.router)
        if module.pages is not None:
            app.include_router(module.pages)
    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")
    return app
