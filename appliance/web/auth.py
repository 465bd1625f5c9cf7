"""Logging in and out: the login routes (the checks on every other route are in
:mod:`appliance.web.roles`).

Each route declares its rule: only the login screen's shell and assets, the
login call, the language catalogs, ``/healthz`` and ``/metrics`` are public;
everything else needs a live, unlocked login session whose role the route
allows. State-changing requests (anything but GET/HEAD/OPTIONS) must also carry
the session's CSRF token in ``X-CSRF-Token`` and, when the browser sends one, a
same-origin ``Origin``.

The session cookie is HttpOnly and SameSite=Strict, and Secure whenever the
request came over HTTPS (the kiosk's loopback HTTP is not, and a Secure
cookie would never be sent back there). Requests that carry
``X-Passive: 1`` (background polls, the live preview) do not count as
operator activity, so a kiosk left alone locks even while the screen polls.
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from appliance.accounts import (
    AccountError,
    AccountStore,
    AuthError,
    LockedOut,
    LoginSession,
    Role,
)
from appliance.web.roles import COOKIE, PUBLIC, AuthServices, allow, same_origin
from appliance.web.schemas import LoggedOut, Me, me

logger = logging.getLogger(__name__)


def login_of(request: Request) -> LoginSession:
    """The session :class:`Authorize` attached to this request (non-public routes only)."""
    session = request.scope.get("state", {}).get("login")
    if not isinstance(session, LoginSession):
        raise RuntimeError("route reached without a login session")
    return session


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64, description="Account name.")
    password: str = Field(min_length=1, max_length=256, description="Password.")


class UnlockBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secret: str = Field(min_length=1, max_length=256, description="Password or PIN.")


def _known(accounts: AccountStore, username: str) -> bool:
    """Whether ``username`` is an account (a mistyped name is not recorded: it may be
    anything, even a password typed in the wrong field)."""
    try:
        accounts.get(username)
    except AccountError:
        return False
    return True


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
    router = APIRouter(prefix="/api/auth", tags=["auth"])
    accounts, sessions = services.accounts, services.sessions
    everyone = allow(*Role, lock_exempt=True)

    @router.post("/login", response_model=Me, **PUBLIC)
    async def login(request: Request, body: LoginBody) -> JSONResponse:
        if not same_origin(request.headers.get("origin"), request.headers.get("host", "")):
            return JSONResponse({"error": "auth.bad_origin", "message": "cross-origin"}, 403)
        try:
            account = await asyncio.to_thread(accounts.authenticate, body.username, body.password)
        except AuthError as exc:
            logger.info("login refused: %s", exc.code)
            known = await asyncio.to_thread(_known, accounts, body.username)
            sessions.refused(body.username if known else None, exc.code)
            return _auth_error(exc)
        previous = sessions.lookup(request.cookies.get(COOKIE))
        if previous is not None:
            sessions.end(previous, "replaced")
        token, session = sessions.create(account)
        response = JSONResponse(me(session, sessions).model_dump())
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

    @router.get("/me", **everyone)
    async def whoami(request: Request) -> Me:
        return me(login_of(request), sessions)

    @router.post("/logout", response_model=LoggedOut, **everyone)
    async def logout(request: Request) -> JSONResponse:
        sessions.end(login_of(request))
        response = JSONResponse(LoggedOut(logged_out=True).model_dump())
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return response

    @router.post("/lock", **allow(*Role))
    async def lock(request: Request) -> Me:
        session = login_of(request)
        sessions.lock(session)
        return me(session, sessions)

    @router.post("/unlock", response_model=Me, **everyone)
    async def unlock(request: Request, body: UnlockBody) -> JSONResponse:
        session = login_of(request)
        try:
            await asyncio.to_thread(accounts.authenticate_any, session.username, body.secret)
        except AuthError as exc:
            sessions.refused(session.username, exc.code)
            if isinstance(exc, LockedOut):
                sessions.end(session, "locked_out")  # locked out: nobody stays logged in as them
            return _auth_error(exc)
        sessions.unlock(session)
        return JSONResponse(me(session, sessions).model_dump())

    return router
