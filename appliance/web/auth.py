"""Authentication for the web UI and API: a default-deny gate and the login routes.

:class:`AuthGate` is an ASGI middleware in front of every route. Only the
login screen's shell and assets, the login call, the language catalogs,
``/healthz`` and ``/metrics`` are public; everything else needs a live,
unlocked login session whose role the route allows. State-changing requests
(anything but GET/HEAD/OPTIONS) must also carry the session's CSRF token in
``X-CSRF-Token`` and, when the browser sends one, a same-origin ``Origin``.

The session cookie is HttpOnly and SameSite=Strict, and Secure whenever the
request came over HTTPS (the kiosk's loopback HTTP is not, and a Secure
cookie would never be sent back there). Requests that carry
``X-Passive: 1`` (background polls, the live preview) do not count as
operator activity, so a kiosk left alone locks even while the screen polls.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.types import ASGIApp, Receive, Scope, Send

from appliance.accounts import (
    AccountStore,
    AuthError,
    LockedOut,
    LoginSession,
    LoginSessions,
    Role,
)

logger = logging.getLogger(__name__)

COOKIE = "claim_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: Reachable without a session (exact paths, then prefixes).
PUBLIC_PATHS = frozenset({"/", "/healthz", "/metrics", "/favicon.ico", "/api/auth/login"})
PUBLIC_PREFIXES = ("/static/", "/api/i18n/")
#: Reachable with a locked session (to see the lock, unlock or leave).
LOCK_EXEMPT = frozenset({"/api/auth/me", "/api/auth/unlock", "/api/auth/logout"})

ALL_ROLES = frozenset(Role)
ENROLLING_ROLES = frozenset({Role.OPERATOR, Role.SUPERVISOR})
#: Path prefix -> roles allowed; the first match wins, unmatched paths allow any role.
ROLE_RULES: tuple[tuple[str, frozenset[Role]], ...] = (
    ("/api/tech/", frozenset({Role.TECHNICIAN})),
    ("/api/workflow", ENROLLING_ROLES),
)


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def roles_for(path: str) -> frozenset[Role]:
    for prefix, roles in ROLE_RULES:
        if path.startswith(prefix):
            return roles
    return ALL_ROLES


def login_of(request: Request) -> LoginSession:
    """The session the gate attached to this request (routes behind the gate only)."""
    session = request.scope.get("state", {}).get("login")
    if not isinstance(session, LoginSession):
        raise RuntimeError("route reached without a login session")
    return session


@dataclass(frozen=True)
class AuthServices:
    """What the gate and the login routes need."""

    accounts: AccountStore
    sessions: LoginSessions


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _cookie(headers: dict[str, str], name: str) -> str | None:
    for part in headers.get("cookie", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def same_origin(headers: dict[str, str]) -> bool:
    """No Origin (not a browser, or a same-origin GET) or one matching the Host header."""
    origin = headers.get("origin")
    if origin is None:
        return True
    host = headers.get("host", "")
    return origin != "null" and urlsplit(origin).netloc == host


class AuthGate:
    """Default-deny: every non-public route needs an unlocked session with a fitting role."""

    def __init__(self, app: ASGIApp, services: AuthServices | None) -> None:
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        denial = self._check(scope)
        if denial is not None:
            status, code, message = denial
            await _deny(send, status, code, message)
            return
        await self.app(scope, receive, send)

    def _check(self, scope: Scope) -> tuple[int, str, str] | None:
        path: str = scope["path"]
        headers = _headers(scope)
        if self.services is None:
            return 401, "auth.required", "log in first"
        session = self.services.sessions.lookup(_cookie(headers, COOKIE))
        if session is None:
            return 401, "auth.required", "log in first"
        if session.locked and path not in LOCK_EXEMPT:
            return 401, "auth.locked", "the screen is locked: unlock it first"
        if scope["method"] not in SAFE_METHODS:
            if not same_origin(headers):
                return 403, "auth.bad_origin", "cross-origin request refused"
            if not session.csrf_ok(headers.get(CSRF_HEADER)):
                return 403, "auth.csrf", "missing or wrong CSRF token"
        if session.role not in roles_for(path):
            return 403, "auth.forbidden", "your role cannot do this"
        if headers.get("x-passive") != "1":
            self.services.sessions.touch(session)
        scope.setdefault("state", {})["login"] = session
        return None


async def _deny(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": code, "message": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64, description="Account name.")
    password: str = Field(min_length=1, max_length=256, description="Password.")


class UnlockBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secret: str = Field(min_length=1, max_length=256, description="Password or PIN.")


def describe(session: LoginSession, sessions: LoginSessions) -> dict[str, Any]:
    return {
        "username": session.username,
        "display_name": session.display_name,
        "role": session.role.value,
        "locked": session.locked,
        "csrf_token": session.csrf_token,
        "idle_lock_s": sessions.idle_lock_s,
    }


def _auth_error(exc: AuthError) -> JSONResponse:
    if isinstance(exc, LockedOut):
        return JSONResponse(
            {
                "error": exc.code,
                "message": "too many failed attempts: try again later",
                "retry_after_s": round(exc.retry_after_s),
            },
            status_code=423,
            headers={"Retry-After": str(round(exc.retry_after_s))},
        )
    return JSONResponse({"error": exc.code, "message": "wrong user name or secret"}, 401)


def auth_router(services: AuthServices) -> APIRouter:
    router = APIRouter(prefix="/api/auth")
    accounts, sessions = services.accounts, services.sessions

    @router.post("/login")
    async def login(request: Request, body: LoginBody) -> JSONResponse:
        headers = _headers(request.scope)
        if not same_origin(headers):
            return JSONResponse({"error": "auth.bad_origin", "message": "cross-origin"}, 403)
        try:
            account = await asyncio.to_thread(accounts.authenticate, body.username, body.password)
        except AuthError as exc:
            logger.info("login refused: %s", exc.code)
            return _auth_error(exc)
        previous = sessions.lookup(request.cookies.get(COOKIE))
        if previous is not None:
            sessions.end(previous)
        token, session = sessions.create(account)
        response = JSONResponse(describe(session, sessions))
        response.set_cookie(
            COOKIE,
            token,
            max_age=int(sessions.max_age_s),
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    @router.get("/me")
    async def me(request: Request) -> dict[str, Any]:
        return describe(login_of(request), sessions)

    @router.post("/logout")
    async def logout(request: Request) -> JSONResponse:
        sessions.end(login_of(request))
        response = JSONResponse({"logged_out": True})
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return response

    @router.post("/lock")
    async def lock(request: Request) -> dict[str, Any]:
        session = login_of(request)
        sessions.lock(session)
        return describe(session, sessions)

    @router.post("/unlock")
    async def unlock(request: Request, body: UnlockBody) -> JSONResponse:
        session = login_of(request)
        try:
            await asyncio.to_thread(accounts.authenticate_any, session.username, body.secret)
        except AuthError as exc:
            if isinstance(exc, LockedOut):
                sessions.end(session)  # locked out: nobody stays logged in as them
            return _auth_error(exc)
        sessions.unlock(session)
        return JSONResponse(describe(session, sessions))

    return router


def allowed_roles(roles: Iterable[Role]) -> list[str]:
    return sorted(r.value for r in roles)
