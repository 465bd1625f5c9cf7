"""Drive a whole enrolment through the workflow's HTTP API, timing every call.

Used by the workflow tests and by ``bench/workflow.py``. Every request's
latency is recorded with its route; waits for the simulated applicant (the
face auto-capture, the reader's slap captures) are polls of ``GET
/api/workflow`` marked passive, as the UI's own polls are.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

SLAPS = ("slap_right_four", "slap_left_four", "slap_thumbs")


@dataclass
class Timings:
    calls: list[tuple[str, float]] = field(default_factory=list)  # (route, seconds)
    waits: dict[str, float] = field(default_factory=dict)

    def p95(self, exclude: tuple[str, ...] = ()) -> float:
        values = sorted(s for route, s in self.calls if not route.startswith(exclude))
        if not values:
            return 0.0
        return values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]


class ApiError(AssertionError):
    pass


class ApiDriver:
    def __init__(self, client: httpx.AsyncClient, timings: Timings | None = None) -> None:
        self.client = client
        self.timings = timings or Timings()

    async def call(
        self, method: str, path: str, *, expect: int | tuple[int, ...] = (200, 201, 202), **kw: Any
    ) -> Any:
        started = time.perf_counter()
        response = await self.client.request(method, path, **kw)
        route = f"{method.upper()} {path}"
        if "X-Passive" not in kw.get("headers", {}):
            self.timings.calls.append((route, time.perf_counter() - started))
        expected = (expect,) if isinstance(expect, int) else expect
        if response.status_code not in expected:
            raise ApiError(f"{route}: {response.status_code} {response.text}")
        return (
            response.json()
            if response.headers.get("content-type", "").startswith("application/json")
            else response.content
        )

    async def login(self, user: str, password: str) -> dict[str, Any]:
        body = await self.call(
            "post", "/api/auth/login", json={"username": user, "password": password}
        )
        self.client.headers["X-CSRF-Token"] = body["csrf_token"]
        return dict(body)

    async def poll(self, predicate: Any, label: str, limit_s: float = 120.0) -> dict[str, Any]:
        started = time.perf_counter()
        while True:
            view = await self.call("get", "/api/workflow", headers={"X-Passive": "1"})
            if predicate(view):
                self.timings.waits[label] = self.timings.waits.get(label, 0.0) + (
                    time.perf_counter() - started
                )
                return dict(view)
            if time.perf_counter() - started > limit_s:
                raise ApiError(f"{label}: not reached in {limit_s} s (view: {view})")
            await asyncio.sleep(0.05)

    async def start(self, case_reference: str | None, language: str = "en") -> dict[str, Any]:
        """Scan (or type) the reference, look the case up, confirm identity, start."""
        if case_reference is None:
            case_reference = (await self.call("post", "/api/workflow/scan", json={}))[
                "case_reference"
            ]
        case = await self.call("post", "/api/workflow/case", json={"reference": case_reference})
        if case["outcome"] != "found":
            raise ApiError(f"case {case_reference}: {case['outcome']} ({case['source']})")
        return dict(
            await self.call(
                "post",
                "/api/workflow",
                json={
                    "case_reference": case_reference,
                    "language": language,
                    "identity_confirmed": True,
                },
            )
        )

    async def face(self) -> dict[str, Any]:
        """Watch the preview until the auto-capture takes the photo, then accept it."""
        async with self.client.stream(
            "GET", "/api/workflow/preview/face.mjpg", headers={"X-Passive": "1"}
        ) as stream:
            view = await self.poll(lambda v: v["face"]["status"] == "captured", "face_auto_capture")
            await stream.aclose()
        capture = await self.call("get", f"/api/workflow/captures/{view['face']['capture_id']}")
        assert bytes(capture[:3]) == b"\xff\xd8\xff"
        return dict(await self.call("post", "/api/workflow/face/accept"))

    async def slap(self, kind: str, *, judged: bool = True) -> dict[str, Any]:
        """Capture one slap; return once it is judged, or (``judged=False``) as soon as
        the reader is free for the next slap."""
        ended = (
            ("done", "failed", "skipped") if judged else ("judging", "done", "failed", "skipped")
        )
        await self.call("post", f"/api/workflow/fingers/{kind}/capture")
        view = await self.poll(
            lambda v: (
                next(s for s in v["fingers"]["slaps"] if s["kind"] == kind)["status"] in ended
            ),
            "fingerprint_reader",
        )
        return next(s for s in view["fingers"]["slaps"] if s["kind"] == kind)

    async def fingerprints(self) -> dict[str, Any]:
        """The three slaps, each placed as soon as the reader is free, then "continue"."""
        for kind in SLAPS:
            slap = await self.slap(kind, judged=False)
            if slap["status"] == "failed":
                raise ApiError(f"{kind} failed: {slap}")
        view = await self.poll(
            lambda v: all(s["status"] != "judging" for s in v["fingers"]["slaps"]),
            "fingerprint_reader",
        )
        for slap in view["fingers"]["slaps"]:
            if slap["status"] == "failed" or not (slap["accepted"] or slap["status"] == "skipped"):
                raise ApiError(f"{slap['kind']} not accepted: {slap}")
        return dict(await self.call("post", "/api/workflow/fingers/done"))

    async def documents(self, kinds: tuple[str, ...] = ("residence_permit",)) -> dict[str, Any]:
        """Photograph each document, wait for the MRZ verdicts (as the operator reads
        them), then continue."""
        for kind in kinds:
            await self.call("post", "/api/workflow/documents", json={"kind": kind})
        await self.poll(lambda v: not any(d["reading"] for d in v["documents"]), "document_mrz")
        return dict(await self.call("post", "/api/workflow/documents/done"))

    async def submit(self) -> dict[str, Any]:
        """Submit, then wait for the background seal: done, or back at review on failure."""
        await self.call("post", "/api/workflow/submit")
        return await self.poll(lambda v: v["step"] in ("done", "review"), "sealing")

    async def enrol(self, case_reference: str | None, language: str = "en") -> dict[str, Any]:
        await self.start(case_reference, language)
        await self.call("post", "/api/workflow/consent", json={"accepted": True})
        await self.face()
        await self.fingerprints()
        view = await self.documents()
        assert view["step"] == "review", view
        done = await self.submit()
        assert done["step"] == "done", done
        return dict(done)
