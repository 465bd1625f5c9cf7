"""The local HTTP API (FastAPI) over the running services; it constructs nothing.

:func:`create_app` is called by the composition root with the frozen
:class:`Services`. Every route declares who may call it
(:mod:`appliance.web.roles`); every error leaves as JSON ``{"error": code,
"message": text}`` with a fitting status, and no traceback ever reaches the
client. Captured images are served only from memory, to the local screen.
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from appliance import __version__
from appliance.accounts import Role
from appliance.cases import CasesStatus
from appliance.services import Services
from appliance.web.auth import auth_router
from appliance.web.errors import ApiError
from appliance.web.limits import BodyLimit
from appliance.web.roles import PUBLIC, AuthServices, allow, check_every_route_has_a_rule
from appliance.web.schemas import (
    DeviceList,
    ErrorResponse,
    Health,
    OutboxStatusModel,
    device_row,
    outbox_status,
)
from appliance.web.stats_routes import stats_router
from appliance.web.tech import tech_router
from appliance.web.ui import SecurityHeaders, install_ui
from appliance.web.workflow_routes import applicant_router, workflow_router

logger = logging.getLogger(__name__)

ANY_ROLE = allow(*Role)


def create_app(services: Services) -> FastAPI:
    api = FastAPI(
        title="CLAIM kiosk appliance",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # the schema is for developers and tests (app.openapi()), not served
        responses={"default": {"model": ErrorResponse, "description": "Error"}},
    )
    auth = AuthServices(services.accounts, services.logins)
    api.state.auth = auth
    _install_error_handlers(api)
    api.add_middleware(BodyLimit)  # before any route reads a body (and inside the headers)
    api.add_middleware(SecurityHeaders)
    install_ui(api, services.config.ui.operator_language)
    api.include_router(auth_router(auth))
    api.include_router(workflow_router(services.workflow, services.receipt_printing))
    api.include_router(applicant_router(services.workflow))
    api.include_router(tech_router(services))
    api.include_router(stats_router(services.audit))
    api.include_router(_status_router(services))
    check_every_route_has_a_rule(api)
    return api


def _status_router(services: Services) -> APIRouter:
    router = APIRouter(tags=["status"])
    outbox = services.outbox

    @router.get("/healthz", **PUBLIC)
    async def healthz() -> Health:
        return Health(status="ok", version=__version__)

    @router.get("/metrics", response_class=Response, **PUBLIC)
    async def prometheus() -> Response:
        body = await asyncio.to_thread(services.metrics.render)
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    @router.get("/api/devices", **ANY_ROLE)
    async def devices() -> DeviceList:
        return DeviceList(devices=[device_row(s) for s in services.supervisor.statuses()])

    @router.get("/api/cases", **ANY_ROLE)
    async def cases_state() -> CasesStatus:
        """The day's appointment list on the kiosk and the check-ins waiting for central."""
        if services.cases is None:
            return CasesStatus(None, 0, None, "not_provisioned", 0, 0.0, None)
        return await asyncio.to_thread(services.cases.status)

    @router.get("/api/outbox", **ANY_ROLE)
    async def outbox_state() -> OutboxStatusModel:
        if outbox is None:
            raise ApiError(503, "no_outbox", "the outbox is not available")
        status = await asyncio.to_thread(outbox.status)
        last = await asyncio.to_thread(outbox.last_delivery_at)
        return outbox_status(status, last)

    return router


def _install_error_handlers(api: FastAPI) -> None:
    @api.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            {"error": exc.code, "message": exc.message, **exc.extra}, status_code=exc.status
        )

    @api.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
        ]
        return JSONResponse(
            {"error": "invalid_request", "message": "the request is invalid", "problems": problems},
            status_code=422,
        )

    @api.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"error": "http_error", "message": str(exc.detail)}, status_code=exc.status_code
        )

    @api.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error in API handler")
        return JSONResponse(
            {"error": "internal_error", "message": "internal error; see the appliance log"},
            status_code=500,
        )
