"""Cross-site request forgery: every state-changing request to a staff page carries the
browser's own token, and comes from this site.

Double submit: a random token in a cookie of its own (``kumomura_csrf``, set on the
first answer), repeated by every form as its first field ``csrf_token`` (the
``csrf_field()`` of the templates) or by a script as the ``X-CSRF-Token`` header. Another
site can make the browser send the cookie but cannot read it, so it cannot write the
field. The ``Origin`` (or ``Referer``) header, when the browser sends one, must name
this site as well. The API is not concerned: it authenticates by bearer token only,
which no other site can make a browser send.

Multipart forms (uploads) are checked from their first part, without reading the file.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl, urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kumomura.platform.http.bodies import read_ahead

COOKIE = "kumomura_csrf"
FIELD = "csrf_token"
HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_LIMIT = 1 << 20
"""A url-encoded staff form is read up to this size for its token (they are small)."""
FIRST_PART_LIMIT = 64 << 10
"""How much of a multipart body is read to find its first part."""
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")

Refusal = Callable[[Scope, Receive, Send, str], Awaitable[None]]


def _cookie_token(headers: Headers) -> str | None:
    value = cookie_parser(headers.get("cookie", "")).get(COOKIE, "")
    return value if _TOKEN.fullmatch(value) else None


def same_site(headers: Headers) -> bool:
    """The request's Origin (or Referer) names this host, or the browser sent neither."""
    claimed = headers.get("origin") or headers.get("referer")
    if claimed is None:
        return True
    return urlsplit(claimed).netloc.lower() == headers.get("host", "").lower()


def _first_part_value(body: bytes, boundary: bytes) -> tuple[str, str] | None:
    """The name and value of a multipart body's first part, once it is all here."""
    start = body.find(b"--" + boundary)
    if start < 0:
        return None
    head_end = body.find(b"\r\n\r\n", start)
    end = body.find(b"\r\n--" + boundary, head_end + 4) if head_end >= 0 else -1
    if end < 0:
        return None
    head = body[start:head_end].decode("latin-1")
    name = re.search(r'name="([^"]*)"', head)
    return (name.group(1) if name else "", body[head_end + 4:end].decode("latin-1"))


class CsrfGuard:
    """Pure ASGI middleware: gives each browser its token and refuses a state-changing
    page request without it (``refuse`` answers, in the staff's language)."""

    def __init__(self, app: ASGIApp, *, refuse: Refusal, secure: bool,
                 exempt_prefixes: tuple[str, ...] = ("/api/",)) -> None:
        self.app = app
        self.refuse = refuse
        self.secure = secure
        self.exempt = exempt_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        known = _cookie_token(headers)
        token = known or secrets.token_urlsafe(32)
        scope.setdefault("state", {})["csrf_token"] = token
        if scope["method"] not in SAFE_METHODS and not scope["path"].startswith(self.exempt):
            if not same_site(headers):
                await self.refuse(scope, receive, send, "他のサイトからの送信は受け付けません")
                return
            given, receive = await self._given(scope, headers, receive)
            if known is None or given is None or not hmac.compare_digest(given, known):
                await self.refuse(scope, receive, send, "画面を開き直してから、もう一度操作して"
                                                        "ください (確認用の情報が一致しません)")
                return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and known is None:
                MutableHeaders(scope=message).append("set-cookie", (
                    f"{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax"
                    + ("; Secure" if self.secure else "")))
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    async def _given(self, scope: Scope, headers: Headers, receive: Receive,
                     ) -> tuple[str | None, Receive]:
        """The token the request carries, and a receive that replays what was read."""
        if headers.get(HEADER):
            return headers[HEADER], receive
        kind, _, params = headers.get("content-type", "").partition(";")
        kind = kind.strip().lower()
        if kind not in ("application/x-www-form-urlencoded", "multipart/form-data"):
            return None, receive
        if kind.endswith("urlencoded"):
            body, receive = await read_ahead(receive, limit=FORM_LIMIT)
            return next((v for k, v in parse_qsl(body.decode("utf-8", "replace"),
                                                 keep_blank_values=True) if k == FIELD),
                        None), receive
        found = re.search(r'boundary="?([^";]+)"?', params)
        if found is None:
            return None, receive
        boundary = found.group(1).encode("latin-1")
        body, receive = await read_ahead(
            receive, limit=FIRST_PART_LIMIT,
            enough=lambda so_far: _first_part_value(so_far, boundary) is not None)
        part = _first_part_value(body, boundary)
        return (part[1] if part is not None and part[0] == FIELD else None), receive
