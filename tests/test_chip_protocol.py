"""eMRTD protocol pieces without pcscd: ICAO 9303-11 worked examples, check digits,
bounded reading against a lying chip, the trust store (master list, CRLs) and AA."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from appliance.documents.chip.trust import TrustStoreError, fingerprint, load_trust_store
from appliance.documents.chip.verdict import PaReason, verify_chip
from drivers.emrtd import sm_crypto as c
from drivers.emrtd.errors import ChipFileTooLarge
from drivers.emrtd.mrz_key import MrzKeyInput, check_digit
from drivers.emrtd.session import read_document
from drivers.emrtd.tlv import TlvError, iter_tlv
from drivers.pcsc.atr import supports_extended_length
from drivers.sim.emrtd import lds_builder as lb
from drivers.sim.emrtd import pki
from drivers.sim.emrtd.card import ATR, ATR_SHORT_ONLY
from tests.chip_world import DirectChannel, key_of, make_card, make_pki


def test_icao_9303_11_appendix_d_bac_vectors() -> None:
    key = MrzKeyInput("L898902C<", "690806", "940623")
    assert key.mrz_information == "L898902C<369080619406236"
    seed = key.key_seed()
    assert seed.hex().upper() == "239AB9CB282DAF66231DC5A4DF6BFBAE"
    assert c.kdf(seed, 1, c.Cipherkind.TDES).hex().upper() == "AB94FDECF2674FDFB9B391F85D7F76F2"
    assert c.kdf(seed, 2, c.Cipherkind.TDES).hex().upper() == "7962D9ECE03D1ACD4C76089DCE131543"
    e_ifd = bytes.fromhex("72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2")
    mac = c.retail_mac(bytes.fromhex("7962D9ECE03D1ACD4C76089DCE131543"), c.pad(e_ifd, 8))
    assert mac.hex().upper() == "5F1448EEA8AD90A7"


def test_check_digits_and_mrz_parsing() -> None:
    assert check_digit("L898902C3") == "6" and check_digit("740812") == "2"
    holder = lb.Holder()
    key = MrzKeyInput.from_mrz(lb.td3_mrz(holder))
    assert key == key_of(holder)
    with pytest.raises(ValueError):
        MrzKeyInput.from_mrz("too short")


def test_atr_extended_length_flag() -> None:
    assert supports_extended_length(ATR)
    assert not supports_extended_length(ATR_SHORT_ONLY)
    assert not supports_extended_length(b"\x3b")


def test_lying_length_costs_nothing() -> None:
    world = make_pki()
    card = make_card(world.ds, active_auth=False)
    card.chip.files[0x0102] = b"\x75\x83\x7f\xff\xff" + b"\x00" * 64  # claims 8 MB
    with pytest.raises(ChipFileTooLarge):
        read_document(DirectChannel(card), key_of(lb.Holder()))
    with pytest.raises(TlvError):
        list(iter_tlv(b"\x61\x82\xff\xff\x00"))


def test_short_apdus_and_odd_ins_beyond_32k() -> None:
    world = make_pki()
    card = make_card(world.ds)
    card.chip.files[0x0102] = lb.tlv(0x75, bytes(range(256)) * 160)  # 40 kB: past 0x7FFF
    channel = DirectChannel(card, extended=False)
    reading = read_document(channel, key_of(lb.Holder()))
    assert reading.data_groups[2] == card.chip.files[0x0102]
    assert any(apdu[1] == 0xB1 for apdu in channel.sent)  # odd INS READ BINARY
    assert all(len(apdu) <= 261 for apdu in channel.sent)  # short APDUs only


def _pem(cert: object) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)  # type: ignore[attr-defined]


def test_master_list_needs_a_pinned_anchor(tmp_path: Path) -> None:
    world = make_pki()
    ml_signer = pki.make_document_signer(world.csca, name="Master List Signer")
    other = pki.make_csca("XX", name="CSCA Other")
    path = tmp_path / "list.ml"
    path.write_bytes(lb.master_list([world.csca, other], ml_signer))
    store = load_trust_store(
        master_list=path, master_list_anchors=(fingerprint(world.csca.certificate),)
    )
    assert len(store.cscas) == 2
    with pytest.raises(TrustStoreError, match="pinned"):
        load_trust_store(master_list=path, master_list_anchors=("00" * 32,))
    tampered = bytearray(path.read_bytes())
    index = tampered.find(b"CSCA Other")
    tampered[index] ^= 0x20
    path.write_bytes(bytes(tampered))
    with pytest.raises(TrustStoreError):
        load_trust_store(
            master_list=path, master_list_anchors=(fingerprint(world.csca.certificate),)
        )


def test_revoked_signer_and_unverified_crl(tmp_path: Path) -> None:
    world = make_pki()
    (tmp_path / "csca").mkdir()
    (tmp_path / "csca" / "c.pem").write_bytes(_pem(world.csca.certificate))
    (tmp_path / "crl").mkdir()
    crl = pki.make_crl(world.csca, [world.ds.certificate])
    (tmp_path / "crl" / "c.crl").write_bytes(crl.public_bytes(serialization.Encoding.DER))
    forged = pki.make_crl(pki.make_csca(name="CSCA Test"), [])
    (tmp_path / "crl" / "forged.crl").write_bytes(forged.public_bytes(serialization.Encoding.DER))
    store = load_trust_store(csca_dir=tmp_path / "csca", crl_dir=tmp_path / "crl")
    assert len(store.crls) == 1
    holder = lb.Holder()
    reading = read_document(DirectChannel(make_card(world.ds, holder)), key_of(holder))
    verdict = verify_chip(reading, store, lb.td3_mrz(holder))
    assert verdict.reason is PaReason.SIGNER_REVOKED


def test_active_auth_detects_a_clone() -> None:
    world = make_pki()
    holder = lb.Holder()
    card = make_card(world.ds, holder)
    from cryptography.hazmat.primitives.asymmetric import ec

    card.chip.aa_key = ec.generate_private_key(ec.SECP256R1())  # cloned data, other chip key
    reading = read_document(DirectChannel(card), key_of(holder))
    verdict = verify_chip(
        reading,
        load_trust_store_from(world),
        lb.td3_mrz(holder),
        now=dt.datetime.now(dt.UTC),
    )
    assert verdict.pa_passed and verdict.active_auth == "failed: signature"
    assert not verdict.passed


def load_trust_store_from(world: object) -> object:
    from appliance.documents.chip.trust import CscaTrustStore

    return CscaTrustStore([world.csca.certificate])  # type: ignore[attr-defined]


def test_tampered_sod_signature() -> None:
    world = make_pki()
    holder = lb.Holder()
    card = make_card(world.ds, holder)
    sod = bytearray(card.chip.files[0x011D])
    sod[-5] ^= 0x01  # inside the ECDSA signature
    card.chip.files[0x011D] = bytes(sod)
    reading = read_document(DirectChannel(card), key_of(holder))
    verdict = verify_chip(reading, load_trust_store_from(world), None)  # type: ignore[arg-type]
    assert verdict.reason in (PaReason.SOD_SIGNATURE_INVALID, PaReason.SOD_MALFORMED)
