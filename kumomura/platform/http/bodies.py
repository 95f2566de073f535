"""Reading a request body in a middleware without taking it from the route."""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import Message, Receive


async def read_ahead(receive: Receive, *, limit: int,
                     enough: Callable[[bytes], bool] | None = None) -> tuple[bytes, Receive]:
    """The body's first bytes: all of it, up to ``limit``, or as far as ``enough`` needs;
    and a receive that gives the route what was read, then the rest."""
    body, read, more = b"", [], True
    while more and len(body) <= limit and not (enough and enough(body)):
        message = await receive()
        read.append(message)
        body += message.get("body", b"")
        more = bool(message.get("more_body"))
    replay = iter(read)

    async def receive_again() -> Message:
        message = next(replay, None)
        return message if message is not None else await receive()

    return body, receive_again
