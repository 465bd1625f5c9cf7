"""The PKCS#11 device key against SoftHSM2 (Debian's softhsm2): sign, CSR, seal and open."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509

MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
pytestmark = pytest.mark.skipif(
    not MODULE.exists() or shutil.which("softhsm2-util") is None,
    reason="SoftHSM2 is not installed (make system-deps installs it)",
)


@pytest.fixture
def token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "tokens").mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tmp_path / 'tokens'}\nobjectstore.backend = file\n"
        "log.level = ERROR\n"
    )
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    subprocess.run(
        [
            "softhsm2-util",
            "--init-token",
            "--free",
            "--label",
            "kiosk",
            "--pin",
            "123456",
            "--so-pin",
            "12345678",
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "SOFTHSM2_CONF": str(conf)},
    )
    return "kiosk"


def test_hsm_key_signs_csrs_and_packets(token: str) -> None:
    from appliance.identity.device import DeviceIdentity
    from appliance.identity.pkcs11_key import Pkcs11DeviceKey
    from appliance.identity.software_key import KeyStoreError
    from appliance.sealing.open import MemorySink, open_packet
    from appliance.sealing.seal import ItemSource, seal_packet
    from tests.sealing_helpers import META, make_world

    key = Pkcs11DeviceKey(MODULE, token, "device-key", "123456")
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
        Pkcs11DeviceKey(MODULE, token, "device-key", "000000").sign(b"x")
