"""Every route declares who may call it; a route without a rule cannot exist.

Routes say it with ``**allow(Role.X, ...)`` or ``**PUBLIC`` in their decorator.
``allow`` attaches the :class:`Authorize` dependency (login session, screen
lock, CSRF and origin checks, role) and records the rule in the OpenAPI
operation as ``x-roles`` (with ``x-lock-exempt``); ``PUBLIC`` records
``x-public``. :func:`check_every_route_has_a_rule` refuses to build an app with
an undeclared route, so nothing is reachable by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, Request

from appliance.accounts import AccountStore, LoginSession, LoginSessions, Role
from appliance.web.errors import ApiError

ALL_ROLES = tuple(Role)
ENROLLING = (Role.OPERATOR, Role.SUPERVISOR)

COOKIE = "claim_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options"})

#: Reachable without a login session (the login screen, its assets, health and metrics).
PUBLIC: dict[str, Any] = {"openapi_extra": {"x-public": True}}


@dataclass(frozen=True)
class AuthServices:
    """What the authorisation checks need (set on ``app.state.auth`` by the app factory)."""

    accounts: AccountStore
    sessions: LoginSessions


def same_origin(origin: str | None, host: str) -> bool:
    """No Origin (not a browser, or a same-origin GET) or one matching the Host header."""
    if origin is None:
        return True
    return origin != "null" and urlsplit(origin).netloc == host


class Authorize:
    """The dependency every non-public route carries: an unlocked session of an allowed role."""

    def __init__(self, roles: frozenset[Role], lock_exempt: bool) -> None:
        self.roles = roles
        self.lock_exempt = lock_exempt

    async def __call__(self, request: Request) -> LoginSession:
        auth: AuthServices = request.app.state.auth
        session = auth.sessions.lookup(request.cookies.get(COOKIE))
        if session is None:
            raise ApiError(401, "auth.required", "log in first")
        if session.locked and not self.lock_exempt:
            raise ApiError(401, "auth.locked", "the screen is locked: unlock it first")
        if request.method not in SAFE_METHODS:
            if not same_origin(request.headers.get("origin"), request.headers.get("host", "")):
                raise ApiError(403, "auth.bad_origin", "cross-origin request refused")
            if not session.csrf_ok(request.headers.get(CSRF_HEADER)):
                raise ApiError(403, "auth.csrf", "missing or wrong CSRF token")
        if session.role not in self.roles:
            raise ApiError(403, "auth.forbidden", "your role cannot do this")
        if request.headers.get("x-passive") != "1":
            auth.sessions.touch(session)
        request.scope.setdefault("state", {})["login"] = session
        return session


def allow(*roles: Role, lock_exempt: bool = False) -> dict[str, Any]:
    """Decorator keywords: only these roles may call the route."""
    if not roles:
        raise ValueError("a route needs at least one role (or PUBLIC)")
    extra: dict[str, Any] = {"x-roles": sorted(r.value for r in roles)}
    if lock_exempt:
        extra["x-lock-exempt"] = True
    return {
        "dependencies": [Depends(Authorize(frozenset(roles), lock_exempt))],
        "openapi_extra": extra,
    }


def route_rules(app: FastAPI) -> dict[tuple[str, str], dict[str, Any]]:
    """(METHOD, path) -> the rule each operation of the app's OpenAPI declares."""
    rules: dict[tuple[str, str], dict[str, Any]] = {}
    for path, operations in app.openapi().get("paths", {}).items():
        for method, operation in operations.items():
            if method not in HTTP_METHODS:
                continue
            rules[(method.upper(), path)] = {
                "public": bool(operation.get("x-public")),
                "roles": list(operation.get("x-roles", [])),
            }
    return rules


def check_every_route_has_a_rule(app: FastAPI) -> None:
    """Fail closed: an app with a route that declares no rule is not served."""
    undeclared = [
        f"{method} {path}"
        for (method, path), rule in route_rules(app).items()
        if not rule["public"] and not rule["roles"]
    ]
    if undeclared:
        raise RuntimeError("routes without a role rule: " + ", ".join(sorted(undeclared)))
