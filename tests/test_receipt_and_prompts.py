"""The receipt on paper, the spoken prompts, and the outbox's case digests (issue 14).

- the ESC/POS job is real ESC/POS (initialise, raster image, the printer's own QR
  command with the packet id, cut) and the simulated printer keeps it in memory only;
- the bilingual page renders Portuguese and any applicant script (Arabic right to left);
- the receipt printer is a configured device (``devices.receipt_printer``), refused as
  simulated in production;
- espeak-ng renders a prompt per key as a small mu-law WAV (skipped without espeak-ng);
- an outbox of schema 1 gains the ``case_digest`` column, and a case is recognised by
  its keyed hash, whatever its case or spacing.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pytest

from appliance.audit.pseudonym import CaseKey
from appliance.config.model import ApplianceConfig
from appliance.i18n import audio
from appliance.outbox import Outbox
from appliance.outbox.case_key import CaseHistory
from appliance.receipt.printing import ReceiptPrinting, block, qr_svg, qr_text
from appliance.receipt.render import render_page
from appliance.workflow.view import DeliveryView
from drivers.errors import DeviceError
from drivers.escpos_printer import encode_job
from drivers.interfaces import PrintJob, ReceiptPrinter
from drivers.registry import create_printer
from drivers.sim.config import SimPrinterConfig

pytestmark = pytest.mark.timeout(120)

RECEIPT = {
    "case_reference": "AIMA-2026-555001",
    "packet_id": "01a23169-cd25-7743-8aa3-b734d9182c79",
    "submitted_at": "2026-12-01 11:42",
    "site_id": "CLAIM-T-1",
    "municipality": "Lisboa",
    "kiosk": "k-1",
    "language": "ar",
    "items": {"face": 1, "fingers": 10, "missing_fingers": 0, "documents": 1},
}


def test_the_job_is_escpos_with_the_printers_own_qr_command() -> None:
    page = np.full((40, 576), 255, np.uint8)
    page[10:30, 20:200] = 0
    data = encode_job(PrintJob(page, qr_text("pkt-1")), 576)
    assert data.startswith(b"\x1b@")  # ESC @
    assert b"\x1dv0" in data  # GS v 0: raster bit image
    assert b"\x1d(k" in data and b"AIMA:PACKET=pkt-1" in data  # GS ( k: QR code
    assert data.rstrip(b"\n").endswith(b"\x1dV\x00") or b"\x1dV" in data[-8:]  # cut
    with pytest.raises(ValueError):
        encode_job(PrintJob(np.zeros((10, 600), np.uint8)), 576)  # wider than the paper


async def test_the_simulated_printer_prints_a_bilingual_receipt_in_memory() -> None:
    printer = create_printer(SimPrinterConfig(type="sim"))
    assert isinstance(printer, ReceiptPrinter)
    await printer.open()
    delivery = DeliveryView("received", "8a833c7b843967e6", "2026-12-01T11:42:27.349Z")
    await ReceiptPrinting(printer).print_receipt(RECEIPT, delivery)
    job = printer.jobs[-1]  # type: ignore[attr-defined]
    assert RECEIPT["packet_id"].encode() in job
    assert RECEIPT["case_reference"].encode() not in job  # the text is an image, not bytes
    failing = create_printer(SimPrinterConfig(type="sim", fail=True))
    with pytest.raises(DeviceError):
        await failing.print_job(PrintJob(np.full((8, 64), 255, np.uint8)))


def test_the_page_renders_each_script_and_states_the_delivery() -> None:
    stored = block("pt-PT", RECEIPT, None)
    assert any("Guardado no quiosque" in line for line in stored.lines)
    received = block("ar", RECEIPT, DeliveryView("received", "abc", "2026-12-01T11:42:27Z"))
    assert received.rtl and any("abc" in line for line in received.lines)
    page = render_page([stored, received], 576)
    assert page.shape[1] == 576 and page.dtype == np.uint8
    ink = page < 128
    assert ink[:, : 576 // 2].any() and ink[:, 576 // 2 :].any()
    assert qr_svg(qr_text("x")).startswith(b"<?xml")


def test_the_printer_is_a_configured_device_and_never_simulated_in_production() -> None:
    base = {
        "site": {"claim_id": "CLAIM-T-1", "municipality": "Lisboa"},
        "central": {"endpoint": "127.0.0.1:1"},
        "storage": {"state_dir": "/tmp/x"},
    }
    devices = {
        "face_camera": {"type": "opencv", "device": "/dev/video0"},
        "fingerprint_reader": {"type": "uru4000"},
    }
    config = ApplianceConfig.model_validate(
        {
            **base,
            "devices": {
                **devices,
                "receipt_printer": {
                    "type": "escpos",
                    "connection": "network",
                    "host": "192.0.2.10",
                },
            },
        }
    )
    assert config.devices.receipt_printer is not None
    with pytest.raises(ValueError, match="receipt_printer"):
        ApplianceConfig.model_validate(
            {
                **base,
                "profile": "production",
                "devices": {**devices, "receipt_printer": {"type": "sim"}},
            }
        )


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
def test_espeak_ng_renders_small_mu_law_prompts(tmp_path: Path) -> None:
    assert audio.render(tmp_path, ("pt-PT", "ar")) == 2 * len(audio.AUDIO_KEYS)
    path = audio.prompt_path(tmp_path, "ar", "face.instructions")
    assert path is not None and path.stat().st_size < 200_000
    header = path.read_bytes()[:40]
    assert header[:4] == b"RIFF" and header[8:12] == b"WAVE"
    assert int.from_bytes(header[20:22], "little") == 7  # WAVE_FORMAT_MULAW
    assert audio.available(tmp_path) == {
        "pt-PT": list(audio.AUDIO_KEYS),
        "ar": list(audio.AUDIO_KEYS),
    }
    assert audio.prompt_path(tmp_path, "ar", "../../etc/passwd") is None


def test_mu_law_round_trip_is_close() -> None:
    tone = (np.sin(np.linspace(0, 40, 2000)) * 12000).astype(np.int16)
    coded = np.frombuffer(audio.mu_law(tone.astype(np.float32)), np.uint8)
    # decode with the standard's formula
    u = ~coded.astype(np.int32) & 0xFF
    magnitude = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    decoded = np.where(u & 0x80, 0x84 - magnitude, magnitude - 0x84)
    assert np.max(np.abs(decoded - tone)) < 12000 * 0.05


def test_an_outbox_of_schema_1_gains_case_digests(tmp_path: Path) -> None:
    root = tmp_path / "outbox"
    root.mkdir()
    db = sqlite3.connect(root / "outbox.sqlite")
    db.execute(
        "CREATE TABLE packets (packet_id TEXT PRIMARY KEY, state TEXT NOT NULL, size INTEGER"
        " NOT NULL, sha256 TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL,"
        " attempts INTEGER NOT NULL DEFAULT 0, receipt BLOB, error TEXT)"
    )
    db.execute("INSERT INTO packets VALUES ('old', 'purged', 1, 'x', 1, 1, 1, NULL, NULL)")
    db.commit()
    db.close()
    outbox = Outbox(root, quota_bytes=1 << 20)
    key = CaseKey.load_or_create(tmp_path)
    assert (tmp_path / "case-key").stat().st_mode & 0o777 == 0o600
    assert CaseKey.load_or_create(tmp_path).digest("A") == key.digest("A")

    def write(handle: BinaryIO) -> tuple[int, str]:
        handle.write(b"sealed")
        return 6, "0" * 64

    outbox.add("new", write, case_digest=key.digest("AIMA-1"))
    history = CaseHistory(outbox, key)
    seen = history.seen(" aima-1 ")
    assert seen is not None and seen.seen == "enrolled"
    assert history.seen("AIMA-2") is None
    outbox.commit("new", b"{}")
    delivered = history.seen("AIMA-1")
    assert delivered is not None and delivered.seen == "delivered"
    outbox.close()
