"""The receipt, printed: Portuguese and the applicant's language, the packet id as a QR code,
and the delivery state as it is when printed (stored on the kiosk, or received by AIMA).

:class:`ReceiptPrinting` is built by the composition root with the configured
printer (``devices.receipt_printer``); without one the operator prints from the
browser (Chromium's print, i.e. CUPS). The QR code of the browser receipt is the
same text (:func:`qr_svg`).
"""

from __future__ import annotations

import asyncio
import io
import logging
from typing import Any

import qrcode
import qrcode.image.svg

from appliance import i18n
from appliance.receipt.render import Block, render_page
from appliance.workflow.view import DeliveryView
from drivers.errors import DeviceError
from drivers.interfaces import PrintJob, ReceiptPrinter

logger = logging.getLogger(__name__)

PORTUGUESE = "pt-PT"
MAX_QR_TEXT = 128


def qr_text(packet_id: str) -> str:
    """What the receipt's QR code holds: the packet id, which AIMA's systems know."""
    return f"AIMA:PACKET={packet_id}"


def qr_svg(text: str) -> bytes:
    """The QR code as an SVG document (pure Python, no image library)."""
    if len(text) > MAX_QR_TEXT:
        raise ValueError("QR text too long")
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


def status_line(messages: dict[str, str], delivery: DeliveryView | None) -> str:
    if delivery is not None and delivery.state == "received":
        return messages["receipt.status_received"].format(
            id=delivery.receipt_id or "", time=(delivery.received_at or "").replace("T", " ")[:19]
        )
    return messages["receipt.status_stored"]


def block(code: str, receipt: dict[str, Any], delivery: DeliveryView | None) -> Block:
    """One language's text of the receipt (the same facts as the screen shows)."""
    language = i18n.BY_CODE[code]
    m = i18n.messages("applicant", code)
    items = receipt.get("items", {})
    lines = [
        f"{m['receipt.case']}: {receipt.get('case_reference', '')}",
        f"{m['receipt.date']}: {receipt.get('submitted_at', '')}",
        f"{m['receipt.centre']}: {receipt.get('municipality') or receipt.get('site_id', '')}"
        f" · {receipt.get('kiosk', '')}",
        m["receipt.face"].format(count=items.get("face", 0)),
        m["receipt.fingers"].format(count=items.get("fingers", 0)),
        m["receipt.documents"].format(count=items.get("documents", 0)),
        f"{m['receipt.status_label']}: {status_line(m, delivery)}",
        m["receipt.no_biometrics"],
        m["receipt.keep"],
    ]
    if items.get("missing_fingers"):
        lines.insert(5, m["receipt.missing"].format(count=items["missing_fingers"]))
    return Block(code, language.direction == "rtl", m["receipt.title"], tuple(lines))


class ReceiptPrinting:
    def __init__(self, printer: ReceiptPrinter) -> None:
        self.printer = printer

    async def print_receipt(self, receipt: dict[str, Any], delivery: DeliveryView | None) -> None:
        """Print the bilingual receipt (raises DeviceError when the printer fails)."""
        code = str(receipt.get("language") or PORTUGUESE)
        codes = [PORTUGUESE] if code == PORTUGUESE else [PORTUGUESE, code]
        blocks = [block(c, receipt, delivery) for c in codes]
        width = self.printer.paper_width_px
        page = await asyncio.to_thread(render_page, blocks, width)
        packet = str(receipt.get("packet_id") or "")
        await self.printer.print_job(PrintJob(page, qr_text(packet) if packet else None))
        logger.info("receipt printed")


__all__ = ["DeviceError", "ReceiptPrinting", "qr_svg", "qr_text"]
