"""The chip reader on a real PC/SC stack: Debian's pcscd + vsmartcard's vpcd + our emulator.

Each forged document fails passive authentication with its own reason; wrong
MRZ keys fail BAC cleanly; a card pulled mid-read gives a clear error and a
retry works.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.documents.chip.read import read_chip
from appliance.documents.chip.trust import CscaTrustStore
from appliance.documents.chip.verdict import PaReason, verify_chip
from drivers.emrtd.errors import CardRemoved, ChipAccessDenied
from drivers.emrtd.mrz_key import MrzKeyInput
from drivers.pcsc.config import PcscReaderConfig
from drivers.pcsc.reader import PcscDocumentReader
from drivers.sim.emrtd import lds_builder as lb
from drivers.sim.emrtd import pki
from drivers.sim.emrtd.card import CardGone, EmulatedPassport
from drivers.sim.emrtd.vpcd import VirtualCardLink
from tests.chip_world import (
    Pki,
    key_of,
    make_card,
    make_pki,
    pcsc_stack_unavailable,
    pcscd,
    wait_reader_empty,
)

_missing = pcsc_stack_unavailable()
pytestmark = pytest.mark.skipif(_missing is not None, reason=_missing or "")


@pytest.fixture(scope="module")
def vpcd_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with pcscd(tmp_path_factory.mktemp("pcscd")) as port:
        yield port


@pytest.fixture(scope="module")
def world() -> Pki:
    return make_pki()


@pytest.fixture
def present(vpcd_port: int) -> Iterator[object]:
    links: list[VirtualCardLink] = []

    def _present(card: EmulatedPassport) -> VirtualCardLink:
        for old in links:
            old.remove()
        wait_reader_empty()
        link = VirtualCardLink(card, _atr(), port=vpcd_port, gone=CardGone)
        link.insert()
        links.append(link)
        return link

    yield _present
    for link in links:
        link.remove()


def _atr() -> bytes:
    from drivers.sim.emrtd.card import ATR

    return ATR


async def _read(card: EmulatedPassport, key: MrzKeyInput, present: object, **cfg: object):
    present(card)  # type: ignore[operator]
    reader = PcscDocumentReader(PcscReaderConfig(type="pcsc", allow_virtual=True, **cfg))
    await reader.open()
    try:
        return await read_chip(reader, key, wait_s=10)
    finally:
        await reader.close()


def _trust(world: Pki) -> CscaTrustStore:
    return CscaTrustStore([world.csca.certificate])


async def test_genuine_chip_passes(world: Pki, present: object) -> None:
    holder = lb.Holder()
    card = make_card(world.ds, holder, offer_pace=True)
    reading = await _read(card, key_of(holder), present)
    assert reading.access == "BAC" and reading.pace_offered
    assert reading.groups_read == [1, 2, 14, 15]
    assert reading.extended_length
    verdict = verify_chip(reading, _trust(world), lb.td3_mrz(holder))
    assert verdict.reason is PaReason.OK, verdict.detail
    assert verdict.passed and verdict.pa_passed
    assert verdict.dg1_matches_mrz is True
    assert verdict.active_auth == "passed"
    assert verdict.chip_auth == "not_present"
    assert verdict.manifest()["chip.pa"] == "passed"


async def test_dg2_altered_after_signing(world: Pki, present: object) -> None:
    holder = lb.Holder()
    card = make_card(world.ds, holder)
    dg2 = bytearray(card.chip.files[0x0102])
    dg2[-100] ^= 0x01  # one bit of the portrait
    card.chip.files[0x0102] = bytes(dg2)
    reading = await _read(card, key_of(holder), present, extended_length="off")
    assert not reading.extended_length
    verdict = verify_chip(reading, _trust(world), lb.td3_mrz(holder))
    assert verdict.reason is PaReason.DG_HASH_MISMATCH
    assert "DG2" in verdict.detail and not verdict.passed


async def test_sod_signed_by_unknown_signer(world: Pki, present: object) -> None:
    rogue = pki.make_document_signer(pki.make_csca(name="Rogue CSCA"))
    holder = lb.Holder()
    card = make_card(rogue, holder)
    verdict = verify_chip(
        await _read(card, key_of(holder), present), _trust(world), lb.td3_mrz(holder)
    )
    assert verdict.reason is PaReason.SIGNER_UNKNOWN and not verdict.passed


async def test_expired_signer(world: Pki, present: object) -> None:
    now = dt.datetime.now(dt.UTC)
    old = pki.make_document_signer(
        world.csca, not_before=now - dt.timedelta(days=400), not_after=now - dt.timedelta(days=1)
    )
    holder = lb.Holder()
    card = make_card(old, holder)
    verdict = verify_chip(
        await _read(card, key_of(holder), present), _trust(world), lb.td3_mrz(holder)
    )
    assert verdict.reason is PaReason.SIGNER_EXPIRED and not verdict.passed


async def test_printed_mrz_differs_from_dg1(world: Pki, present: object) -> None:
    holder = lb.Holder()
    card = make_card(world.ds, holder)
    printed = lb.td3_mrz(lb.Holder(surname="ERIKSEN"))  # same keys, another name
    verdict = verify_chip(await _read(card, key_of(holder), present), _trust(world), printed)
    assert verdict.pa_passed
    assert verdict.reason is PaReason.DG1_MRZ_MISMATCH and verdict.dg1_matches_mrz is False
    assert not verdict.passed


async def test_wrong_mrz_keys_fail_bac_cleanly(world: Pki, present: object) -> None:
    holder = lb.Holder()
    card = make_card(world.ds, holder)
    wrong = MrzKeyInput(holder.document_number, holder.date_of_birth, "350415")
    with pytest.raises(ChipAccessDenied) as caught:
        await _read(card, wrong, present)
    assert caught.value.message_key == "chip.access_denied"
    assert "6300" in caught.value.detail


async def test_card_removed_mid_read_then_retry(world: Pki, present: object) -> None:
    holder = lb.Holder()
    card = make_card(world.ds, holder)
    card.leave_after_reads = 6  # EF.COM, EF.SOD and part of DG2
    with pytest.raises(CardRemoved) as caught:
        await _read(card, key_of(holder), present, extended_length="off")
    assert caught.value.message_key == "chip.card_removed"
    reading = await _read(card, key_of(holder), present)  # presented again
    verdict = verify_chip(reading, _trust(world), lb.td3_mrz(holder))
    assert verdict.passed, verdict.detail


async def test_reader_lists_virtual_only_when_allowed(vpcd_port: int) -> None:
    reader = PcscDocumentReader(PcscReaderConfig(type="pcsc"))
    names = reader.list_readers()
    assert any(n.startswith("Virtual PCD") for n in names)
    with pytest.raises(Exception) as caught:
        await reader.open()
    assert "no PC/SC reader" in str(caught.value)
    await reader.close()


def test_paths_exist() -> None:
    assert Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so").exists()


def test_doc_chip_cli_json(
    world: Pki, present: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from cryptography.hazmat.primitives import serialization

    from appliance.cli.main import main

    csca_dir = tmp_path / "csca"
    csca_dir.mkdir()
    (csca_dir / "csca.pem").write_bytes(
        world.csca.certificate.public_bytes(serialization.Encoding.PEM)
    )
    holder = lb.Holder()
    present(make_card(world.ds, holder))  # type: ignore[operator]
    mrz = lb.td3_mrz(holder)
    code = main(
        ["doc-chip", "--mrz", mrz, "--csca-dir", str(csca_dir), "--allow-virtual", "--json"]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    assert out["access"] == "BAC" and out["groups_read"] == [1, 2, 14, 15]
    assert out["pa"] == {"passed": True, "reason": "ok", "detail": out["pa"]["detail"]}
    assert out["dg1_equals_mrz"] is True and out["active_auth"] == "passed"
    assert out["reader"].startswith("Virtual PCD")
