"""The touchscreen UI: the page shell, its static assets and the language catalogs.

Everything is served from the package (``appliance/web/static``): plain
HTML, CSS and ES modules, no CDN and no build step, so the kiosk works
offline. Every response carries a strict Content-Security-Policy (scripts,
styles and connections from this origin only; no inline script).
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from appliance import i18n
from appliance.i18n import audio
from appliance.web.errors import ApiError
from appliance.web.roles import PUBLIC
from appliance.web.schemas import LanguageModel, Languages

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).with_name("static")

SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
        b"connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
        b"form-action 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    """Adds the CSP and friends to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_ui(api: FastAPI, operator_language: str) -> None:
    """The page shell at ``/``, the applicant's screen at ``/applicant``, assets under
    ``/static``, catalogs and the spoken prompts under ``/api/i18n``."""
    router = APIRouter()
    prompts = audio.prompts_dir()

    @router.get("/", include_in_schema=False, **PUBLIC)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    @router.get("/applicant", include_in_schema=False, **PUBLIC)
    async def applicant_screen() -> FileResponse:
        """The applicant's own screen (a second display or window): no login, read-only."""
        return FileResponse(STATIC_DIR / "applicant.html", headers={"Cache-Control": "no-cache"})

    @router.get("/api/i18n/audio", **PUBLIC)
    async def audio_index() -> dict[str, list[str]]:
        return audio.available(prompts)

    @router.get("/api/i18n/audio/{code}/{key}.wav", response_class=Response, **PUBLIC)
    async def audio_prompt(code: str, key: str) -> FileResponse:
        path = audio.prompt_path(prompts, code, key)
        if path is None or not path.is_file():
            raise ApiError(404, "audio.not_found", "no such prompt")
        return FileResponse(path, media_type="audio/wav")

    @router.get("/favicon.ico", include_in_schema=False, **PUBLIC)
    async def favicon() -> FileResponse:
        return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")

    @router.get("/api/i18n/languages", **PUBLIC)
    async def languages() -> Languages:
        return Languages(
            operator_default=operator_language,
            operator=list(i18n.OPERATOR_LANGUAGES),
            applicant=[
                LanguageModel(code=lang.code, name=lang.name, dir=lang.direction)
                for lang in i18n.LANGUAGES
            ],
        )

    @router.get("/api/i18n/applicant/{code}", **PUBLIC)
    async def applicant(code: str) -> dict[str, object]:
        if code not in i18n.BY_CODE:
            raise ApiError(404, "i18n.unknown_language", "no such language")
        return i18n.bundle(code)

    @router.get("/api/i18n/operator/{code}", **PUBLIC)
    async def operator(code: str) -> dict[str, object]:
        if code not in i18n.OPERATOR_LANGUAGES:
            raise ApiError(404, "i18n.unknown_language", "no such operator language")
        return i18n.operator_bundle(code)

    api.include_router(router)
    api.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
