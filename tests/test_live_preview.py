"""The live preview's pump: frames and analysis only while someone watches."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from appliance.workflow.preview import LivePreview
from drivers.interfaces import Frame, ImageU8

pytestmark = pytest.mark.timeout(30)


class _Camera:
    def __init__(self) -> None:
        self.reads = 0

    async def read_frame(self, timeout_s: float = 2.0) -> Frame:
        await asyncio.sleep(0.01)
        self.reads += 1
        image = np.full((120, 160, 3), self.reads % 256, np.uint8)
        return Frame(image=image, sequence=self.reads, timestamp=0.0)


async def test_the_pump_stops_when_the_last_viewer_leaves_and_starts_again() -> None:
    camera = _Camera()
    analysed: list[int] = []

    def analyse(image: ImageU8) -> dict[str, Any]:
        analysed.append(int(image[0, 0, 0]))
        return {"prompts": []}

    preview = LivePreview(lambda: camera, analyse, overlay="document")  # a Camera enough here
    try:
        seen = 0
        async for _frame in preview.frames():
            seen += 1
            if seen == 3:
                break
        await asyncio.sleep(0.1)  # ten camera periods: a pump still running would read
        assert not preview.running
        reads, analyses = camera.reads, len(analysed)
        await asyncio.sleep(0.1)
        assert (camera.reads, len(analysed)) == (reads, analyses)
        assert preview.latest_frame is None  # the last frame went with the pump
        async for frame in preview.frames():  # the next viewer sees new frames only
            assert frame.sequence > reads
            break
    finally:
        await preview.close()


async def test_analysis_waits_while_paused_and_resumes_on_the_newest_frame() -> None:
    camera = _Camera()
    analysed: list[int] = []

    def analyse(image: ImageU8) -> dict[str, Any]:
        analysed.append(camera.reads)
        return {"prompts": []}

    preview = LivePreview(lambda: camera, analyse, overlay="document")
    try:
        async with preview.viewer():
            async for _analysis in preview.analyses():
                if len(analysed) >= 2:
                    break
            async with preview.analysis_paused():
                await asyncio.sleep(0.03)  # an analysis running when the pause began ends
                paused_at, frames, newest = len(analysed), 0, 0
                async for frame in preview.frames():  # the preview goes on
                    frames, newest = frames + 1, frame.sequence
                    if frames == 6:
                        break
                assert len(analysed) == paused_at  # and nothing is analysed
            async for analysis in preview.analyses():  # then it resumes, on a newer frame
                if analysis["sequence"] >= newest:
                    break
            assert len(analysed) > paused_at
    finally:
        await preview.close()
