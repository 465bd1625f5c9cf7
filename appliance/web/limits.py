"""Request-body budgets: a kiosk has little memory, so no route reads more than it needs.

Every request that may carry a body is checked here before any route sees it: a
``Content-Length`` over the route's budget is answered ``413`` at once, without
reading a byte of the body; a body without a length (chunked) is read only up to
the budget, and refused the moment it goes over. What is within the budget is
handed to the route as it came. The budgets, by path prefix (the longest that
matches wins):

====================  ==========  ====================================================
prefix                budget      what comes in
====================  ==========  ====================================================
``/api/auth/``        4 KiB       a user name and a password or PIN
``/api/tech/``        8 KiB       account forms
``/api/workflow``     16 KiB      case references, choices, a supervisor's PIN and reason
anything else         4 KiB       no other route takes a body
====================  ==========  ====================================================

No route accepts uploads: images come from the kiosk's own devices.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_BUDGET = 4 << 10
BUDGETS: tuple[tuple[str, int], ...] = (
    ("/api/workflow", 16 << 10),
    ("/api/tech/", 8 << 10),
    ("/api/auth/", 4 << 10),
)
BODYLESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})


def budget_for(path: str) -> int:
    matches = [(len(prefix), budget) for prefix, budget in BUDGETS if path.startswith(prefix)]
    return max(matches)[1] if matches else DEFAULT_BUDGET


class BodyLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        budget = budget_for(scope["path"])
        length = _content_length(scope)
        if length is not None and length > budget:
            await _too_large(send, budget)
            return
        if scope["method"] in BODYLESS and not length:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > budget:
                await _too_large(send, budget)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # only a disconnect can come now
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _too_large(send: Send, budget: int) -> None:
    body = json.dumps(
        {"error": "request.too_large", "message": f"the request body exceeds {budget} bytes"}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
