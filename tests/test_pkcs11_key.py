"""The PKCS#11 device key against SoftHSM2 (Debian's softhsm2): sign, CSR, seal and open."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from cryptography import x509

from tests.softhsm import MODULE, key_label, needs_softhsm

pytestmark = needs_softhsm


def test_hsm_key_signs_csrs_and_packets(softhsm_token: str) -> None:
    from appliance.identity.device import DeviceIdentity
    from appliance.identity.pkcs11_key import Pkcs11DeviceKey
    from appliance.identity.software_key import KeyStoreError
    from packet.open import MemorySink, open_packet
    from packet.seal import ItemSource, seal_packet
    from tests.sealing_helpers import META, make_world

    label = key_label("device-key")
    key = Pkcs11DeviceKey(MODULE, softhsm_token, label, "123456")
    key.generate()
    with pytest.raises(KeyStoreError, match="already holds"):
        key.generate()
    assert key.hardware_backed
    csr = x509.load_der_x509_csr(key.build_csr("CLAIM-T", "kiosk-1"))
    assert csr.is_signature_valid
    world = make_world()
    cert = world.ca.issue_from_csr(key.build_csr("CLAIM-T", "kiosk-1"), "dev-hsm-1")
    identity = DeviceIdentity(key, (cert,))
    out = io.BytesIO()
    seal_packet(
        out,
        [ItemSource("face.jpg", "face", "image/jpeg", b"\xff\xd8 synthetic")],
        signer=identity,
        central_key=world.central.public(),
        meta=META,
    )
    opened = open_packet(io.BytesIO(out.getvalue()), world.keyring, world.trust, MemorySink())
    assert opened.manifest.device_id == "dev-hsm-1"
    with pytest.raises(KeyStoreError, match="log in"):
        Pkcs11DeviceKey(MODULE, softhsm_token, label, "000000").sign(b"x")


@pytest.mark.timeout(120)
async def test_hsm_kiosk_provisions_uploads_and_runs_in_production(
    softhsm_token: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.hazmat.primitives import serialization

    from appliance.assembly import device_identity
    from appliance.config.model import ApplianceConfig
    from appliance.identity.pkcs11_key import Pkcs11DeviceKey
    from appliance.identity.software_key import KeyStoreError
    from appliance.identity.store import IdentityFiles, provision
    from appliance.outbox import Outbox
    from central.server import Receiver, load_or_create_state
    from tests.uplink_world import SECRET, Kiosk

    state = load_or_create_state(tmp_path / "central", hosts=["127.0.0.1"])
    receiver = Receiver(state)
    port = await receiver.start()
    state.store.add_token("hsm-token")
    label = key_label("kiosk-signing-key")
    hsm = Pkcs11DeviceKey(MODULE, softhsm_token, label, "123456")
    identity = await provision(
        IdentityFiles(tmp_path / "kiosk" / "identity"),
        central=f"127.0.0.1:{receiver.enrol_port}",
        token="hsm-token",
        site_id="CLAIM-T",
        kiosk_name="k1",
        secret=SECRET,
        central_ca_pem=state.ca.certificate.public_bytes(serialization.Encoding.PEM),
        hsm=hsm,
    )
    try:
        assert identity.backend == "pkcs11"
        assert identity.tls_chain[0] != identity.identity.chain[0]
        kiosk = Kiosk(
            tmp_path,
            state,
            receiver,
            port,
            identity,
            Outbox(tmp_path / "kiosk" / "outbox", quota_bytes=1 << 30),
        )
        ids = kiosk.queue(2)
        assert await kiosk.uplink().drain()
        assert sorted(kiosk.delivered()) == sorted(ids)
        kiosk.outbox.close()

        creds = tmp_path / "creds"
        creds.mkdir()
        (creds / "device-key-passphrase").write_bytes(SECRET)
        (creds / "device-key-pin").write_text("123456")
        monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
        base = {
            "profile": "production",
            "site": {"claim_id": "CLAIM-T", "municipality": "Braga"},
            "central": {"endpoint": f"127.0.0.1:{port}"},
            "devices": {
                "face_camera": {"type": "opencv", "device": str(tmp_path / "none")},
                "fingerprint_reader": {"type": "uru4000"},
            },
            "storage": {"state_dir": str(tmp_path / "kiosk")},
            "web": {"port": 0},
        }
        software = ApplianceConfig.model_validate(base)
        with pytest.raises(KeyStoreError, match="hardware-backed"):
            device_identity(software)
        hardware = ApplianceConfig.model_validate(
            {
                **base,
                "security": {
                    "key_backend": "pkcs11",
                    "pkcs11": {
                        "module": str(MODULE),
                        "token_label": softhsm_token,
                        "key_label": label,
                    },
                },
            }
        )
        identity = device_identity(hardware)
        assert identity is not None and identity.identity.key.hardware_backed
    finally:
        await receiver.stop(grace=0)
        state.store.close()
