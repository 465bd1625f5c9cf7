"""Read a chip through a :class:`drivers.interfaces.DocumentReader` without blocking the loop."""

from __future__ import annotations

import asyncio

from drivers.emrtd.mrz_key import MrzKeyInput
from drivers.emrtd.reading import ChipReading, ReadLimits
from drivers.emrtd.session import read_document
from drivers.interfaces import DocumentReader


async def read_chip(
    reader: DocumentReader,
    key: MrzKeyInput,
    *,
    wait_s: float = 15.0,
    limits: ReadLimits | None = None,
) -> ChipReading:
    """Wait for a document, open it with the MRZ keys and read it (raises typed errors).

    ``drivers.emrtd.errors.ChipAccessDenied``: the MRZ keys do not open the chip;
    ``CardRemoved``: the document left mid-read (ask again, then call again);
    ``NoCard``: nothing presented within ``wait_s``.
    """
    channel = await reader.wait_for_card(wait_s)
    try:
        return await asyncio.to_thread(read_document, channel, key, limits)
    finally:
        channel.close()
