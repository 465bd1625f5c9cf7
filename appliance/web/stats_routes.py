"""The supervisor's Statistics page: this kiosk's service ledger for a day, week or month.

``GET /api/stats?period=day|week|month`` answers the totals, averages and rates
(:func:`transparency.statistics.summarise`, the same arithmetic central uses
across sites) and one row per day; ``GET /api/stats.csv`` the rows as CSV.
The figures are the daily ledgers as the record of operations says now (today
included); role supervisor only.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field

from appliance.accounts import Role
from appliance.audit import AuditService
from appliance.web.errors import ApiError
from appliance.web.roles import allow
from transparency.ledger import DayLedger
from transparency.statistics import csv_rows, summarise, to_csv

SUPERVISOR = allow(Role.SUPERVISOR)
Period = Literal["day", "week", "month"]
#: Days each period covers, ending today.
PERIOD_DAYS: dict[str, int] = {"day": 1, "week": 7, "month": 30}


class Statistics(BaseModel):
    period: str = Field(description="day, week or month (the last 1, 7 or 30 days).")
    first_day: str = Field(description="First local day covered (YYYY-MM-DD).")
    last_day: str = Field(description="Last local day covered (today).")
    site_id: str
    summary: dict[str, Any] = Field(
        description="Totals, averages (seconds) and rates; see transparency/statistics.py."
    )
    days: list[dict[str, Any]] = Field(description="One row per day with activity (CSV columns).")


def stats_router(audit: AuditService | None) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["statistics"])

    def ledgers(period: str) -> tuple[str, str, list[DayLedger]]:
        if audit is None:
            raise ApiError(503, "stats.unavailable", "the record of operations is not running")
        today = audit.today()
        first = (date.fromisoformat(today) - timedelta(days=PERIOD_DAYS[period] - 1)).isoformat()
        return first, today, audit.day_ledgers(first, today)

    @router.get("/stats", **SUPERVISOR)
    async def statistics(period: Period = "day") -> Statistics:
        first, last, days = await asyncio.to_thread(ledgers, period)
        assert audit is not None
        return Statistics(
            period=period,
            first_day=first,
            last_day=last,
            site_id=audit.settings.site_id,
            summary=summarise(days),
            days=csv_rows(days),
        )

    @router.get("/stats.csv", response_class=Response, **SUPERVISOR)
    async def statistics_csv(period: Period = "day") -> Response:
        first, last, days = await asyncio.to_thread(ledgers, period)
        name = f"claim-statistics-{first}-{last}.csv"
        return Response(
            to_csv(days),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "no-store",
            },
        )

    return router
