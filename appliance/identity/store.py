"""The device's identity files under ``<state_dir>/identity`` and provisioning.

Layout (format version 1)::

    identity/device-key.pem       encrypted PKCS#8 (0600), passphrase from systemd credentials
    identity/device-chain.pem     device certificate, then intermediates
    identity/trust-anchors.pem    CAs for central's TLS certificate
    identity/receipt-signer.pem   certificate whose key signs central's receipts
    identity/central-keys.json    central's HPKE public keys with key ids
    identity/FORMAT_VERSION       "1"
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from aima.enrolment.v1 import common_pb2, device_enrolment_pb2, device_enrolment_pb2_grpc
from appliance import __version__
from appliance.identity.device import DeviceIdentity, DeviceKey, build_csr
from appliance.identity.pkcs11_key import Pkcs11DeviceKey
from appliance.identity.software_key import KeyStoreError, SoftwareDeviceKey
from packet.keys import CentralPublicKey, Suite

FORMAT_VERSION = "1"
_PEM = serialization.Encoding.PEM
_SUITES = {
    common_pb2.HPKE_SUITE_X25519_SHA256_AES256GCM: Suite.X25519,
    common_pb2.HPKE_SUITE_MLKEM768X25519_SHA256_AES256GCM: Suite.MLKEM768_X25519,
}


class ProvisioningError(Exception):
    """Provisioning failed; the message is for the technician."""


@dataclass(frozen=True)
class IdentityFiles:
    root: Path

    @property
    def key(self) -> Path:
        return self.root / "device-key.pem"

    @property
    def chain(self) -> Path:
        return self.root / "device-chain.pem"

    @property
    def anchors(self) -> Path:
        return self.root / "trust-anchors.pem"

    @property
    def receipt_signer(self) -> Path:
        return self.root / "receipt-signer.pem"

    @property
    def central_keys(self) -> Path:
        return self.root / "central-keys.json"

    @property
    def tls_key(self) -> Path:
        return self.root / "tls-key.pem"

    @property
    def tls_chain(self) -> Path:
        return self.root / "tls-chain.pem"

    @property
    def backend(self) -> Path:
        return self.root / "key-backend"

    def key_backend(self) -> str:
        return self.backend.read_text().strip() if self.backend.exists() else "software"

    def provisioned(self) -> bool:
        if not self.chain.exists():
            return False
        if self.key_backend() == "pkcs11":
            return self.tls_key.exists()
        return self.key.exists()


@dataclass(frozen=True)
class LoadedIdentity:
    """The signing identity, and the TLS client key/chain that authenticates the uplink.

    With a software key both are the same key. With a TPM/HSM key the signing key
    never leaves the token and a separate software key (same device id) does TLS.
    """

    identity: DeviceIdentity
    tls_key: SoftwareDeviceKey
    tls_chain: tuple[x509.Certificate, ...]
    trust_anchors_pem: bytes
    receipt_signer: x509.Certificate
    central_keys: tuple[CentralPublicKey, ...]

    @property
    def backend(self) -> str:
        return self.identity.key.backend

    def client_key_pem(self) -> bytes:
        """Unencrypted PEM for the TLS stack, kept in memory only."""
        return self.tls_key.private_key_for_csr().private_bytes(
            _PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def chain_pem(self) -> bytes:
        return b"".join(c.public_bytes(_PEM) for c in self.tls_chain)


def _write(path: Path, data: bytes, mode: int = 0o644) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


async def provision(
    files: IdentityFiles,
    *,
    central: str,
    token: str,
    site_id: str,
    kiosk_name: str,
    secret: bytes,
    central_ca_pem: bytes,
    server_name: str | None = None,
    timeout_s: float = 30.0,
    rotating: LoadedIdentity | None = None,
    hsm: Pkcs11DeviceKey | None = None,
) -> LoadedIdentity:
    """Generate the device key and CSR, enrol with central, store what it returns.

    With ``rotating`` (the current identity), central keeps the device id, so packets
    sealed before the rotation still upload under the new certificate.
    """
    files.root.mkdir(parents=True, exist_ok=True, mode=0o700)
    tls_csr = b""
    if hsm is None:
        key = SoftwareDeviceKey.create(files.key, secret)
        csr = build_csr(key.private_key_for_csr(), site_id, kiosk_name)
    else:
        hsm.generate()
        csr = hsm.build_csr(site_id, kiosk_name)
        tls_key = SoftwareDeviceKey.create(files.tls_key, secret)
        tls_csr = build_csr(tls_key.private_key_for_csr(), site_id, kiosk_name)
    current_der, rotation_signature = b"", b""
    if rotating is not None:
        current_der = rotating.identity.certificate_chain_der[0]
        rotation_signature = rotating.identity.sign(csr)
    options = [("grpc.ssl_target_name_override", server_name)] if server_name else []
    credentials = grpc.ssl_channel_credentials(root_certificates=central_ca_pem)
    async with grpc.aio.secure_channel(central, credentials, options=options) as channel:
        stub = device_enrolment_pb2_grpc.DeviceEnrolmentServiceStub(channel)
        try:
            reply = await stub.EnrolDevice(
                device_enrolment_pb2.EnrolDeviceRequest(
                    token=token,
                    csr_der=csr,
                    site_id=site_id,
                    kiosk_name=kiosk_name,
                    software_version=__version__,
                    current_certificate_der=current_der,
                    rotation_signature=rotation_signature,
                    tls_csr_der=tls_csr,
                ),
                timeout=timeout_s,
            )
        except grpc.aio.AioRpcError as exc:
            files.key.unlink(missing_ok=True)
            files.tls_key.unlink(missing_ok=True)
            raise ProvisioningError(
                f"central refused enrolment: {exc.code().name}: {exc.details()}"
            ) from None
    chain = [x509.load_der_x509_certificate(c) for c in reply.certificate_chain_der]
    anchors = [x509.load_der_x509_certificate(c) for c in reply.trust_anchors_der]
    signer = x509.load_der_x509_certificate(reply.receipt_signer_certificate_der)
    keys = [
        CentralPublicKey(k.key_id, _SUITES[k.suite], bytes(k.public_key))
        for k in reply.encryption_keys
        if k.suite in _SUITES
    ]
    if not chain or not keys:
        raise ProvisioningError("central's answer lacks a certificate or an encryption key")
    _write(files.chain, b"".join(c.public_bytes(_PEM) for c in chain))
    if reply.tls_certificate_chain_der:
        tls_chain = [x509.load_der_x509_certificate(c) for c in reply.tls_certificate_chain_der]
        _write(files.tls_chain, b"".join(c.public_bytes(_PEM) for c in tls_chain))
    _write(files.backend, b"pkcs11" if hsm is not None else b"software")
    _write(files.anchors, b"".join(c.public_bytes(_PEM) for c in anchors))
    _write(files.receipt_signer, signer.public_bytes(_PEM))
    _write(files.central_keys, json.dumps([k.to_json() for k in keys], indent=2).encode())
    _write(files.root / "FORMAT_VERSION", FORMAT_VERSION.encode())
    return load_identity(files, secret, hsm)


def load_identity(
    files: IdentityFiles, secret: bytes, hsm: Pkcs11DeviceKey | None = None
) -> LoadedIdentity:
    if not files.provisioned():
        raise KeyStoreError(
            f"the device is not provisioned ({files.root}): run 'appliance provision'"
        )
    chain = tuple(x509.load_pem_x509_certificates(files.chain.read_bytes()))
    signing: DeviceKey
    if files.key_backend() == "pkcs11":
        if hsm is None:
            raise KeyStoreError(
                "this identity's key is on a PKCS#11 token: set security.key_backend: pkcs11"
            )
        signing = hsm
        tls_key = SoftwareDeviceKey.load(files.tls_key, secret)
        tls_chain = tuple(x509.load_pem_x509_certificates(files.tls_chain.read_bytes()))
    else:
        tls_key = SoftwareDeviceKey.load(files.key, secret)
        signing, tls_chain = tls_key, chain
    keys = tuple(CentralPublicKey.from_json(k) for k in json.loads(files.central_keys.read_text()))
    return LoadedIdentity(
        identity=DeviceIdentity(signing, chain),
        tls_key=tls_key,
        tls_chain=tls_chain,
        trust_anchors_pem=files.anchors.read_bytes(),
        receipt_signer=x509.load_pem_x509_certificate(files.receipt_signer.read_bytes()),
        central_keys=keys,
    )
