"""Hardware-backed device key over PKCS#11: TPM 2.0 (tpm2-pkcs11) or an HSM.

The private key is generated on the token and never leaves it. Signing hashes
the data with SHA-256 in software and asks the token for a raw ``CKM_ECDSA``
signature over the digest (the mechanism TPMs and HSMs all offer), returned as
DER like the software backend. The token PIN comes from a systemd credential.
CSRs are assembled with asn1crypto and signed on the token.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pkcs11
from asn1crypto import csr as asn1_csr  # type: ignore[import-untyped]
from asn1crypto import keys as asn1_keys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pkcs11 import KDF, Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.util.ec import (
    encode_ec_public_key,
    encode_ecdsa_signature,
    encode_named_curve_parameters,
)

from appliance.identity.software_key import KeyStoreError

PIN_CREDENTIAL = "device-key-pin"


class Pkcs11DeviceKey:
    """An ECDSA P-256 key on a PKCS#11 token."""

    backend = "pkcs11"
    hardware_backed = True

    def __init__(self, module: Path, token_label: str, key_label: str, pin: str) -> None:
        try:
            self._lib = pkcs11.lib(str(module))
            self._token = self._lib.get_token(token_label=token_label)
        except (pkcs11.PKCS11Error, RuntimeError, OSError) as exc:
            raise KeyStoreError(f"PKCS#11 token {token_label!r} via {module}: {exc!r}") from None
        self._label = key_label
        self._pin = pin

    def _session(self) -> Any:
        try:
            return self._token.open(user_pin=self._pin, rw=True)
        except pkcs11.PKCS11Error as exc:
            raise KeyStoreError(f"cannot log in to the PKCS#11 token: {exc!r}") from None

    def generate(self) -> None:
        """Create the key pair on the token (fails if one with this label exists)."""
        with self._session() as session:
            if list(
                session.get_objects(
                    {Attribute.LABEL: self._label, Attribute.CLASS: ObjectClass.PRIVATE_KEY}
                )
            ):
                raise KeyStoreError(f"the token already holds a key labelled {self._label!r}")
            params = session.create_domain_parameters(
                KeyType.EC,
                {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
                local=True,
            )
            params.generate_keypair(
                store=True,
                label=self._label,
                private_template={Attribute.EXTRACTABLE: False, Attribute.SENSITIVE: True},
            )

    def public_key(self) -> ec.EllipticCurvePublicKey:
        with self._session() as session:
            try:
                public = session.get_key(object_class=ObjectClass.PUBLIC_KEY, label=self._label)
            except (pkcs11.NoSuchKey, pkcs11.MultipleObjectsReturned) as exc:
                raise KeyStoreError(f"no unique public key {self._label!r}: {exc!r}") from None
            key = serialization.load_der_public_key(encode_ec_public_key(public))
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise KeyStoreError("token key is not an EC key")
        return key

    def sign(self, data: bytes) -> bytes:
        digest = hashlib.sha256(data).digest()
        with self._session() as session:
            try:
                private = session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=self._label)
            except (pkcs11.NoSuchKey, pkcs11.MultipleObjectsReturned) as exc:
                raise KeyStoreError(f"no unique private key {self._label!r}: {exc!r}") from None
            raw = private.sign(digest, mechanism=Mechanism.ECDSA)
        return bytes(encode_ecdsa_signature(raw))

    def exchange(self, peer: ec.EllipticCurvePublicKey) -> bytes:
        """ECDH (``CKM_ECDH1_DERIVE``, no KDF) with ``peer`` on the token; the private key
        stays there, only the 32-byte shared secret comes out (appliance.cases)."""
        point = peer.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        with self._session() as session:
            try:
                private = session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=self._label)
                secret = private.derive_key(
                    KeyType.GENERIC_SECRET,
                    256,
                    mechanism=Mechanism.ECDH1_DERIVE,
                    mechanism_param=(KDF.NULL, None, point),
                    template={Attribute.SENSITIVE: False, Attribute.EXTRACTABLE: True},
                    store=False,
                )
                return bytes(secret[Attribute.VALUE])
            except (pkcs11.NoSuchKey, pkcs11.MultipleObjectsReturned) as exc:
                raise KeyStoreError(f"no unique private key {self._label!r}: {exc!r}") from None
            except pkcs11.PKCS11Error as exc:
                raise KeyStoreError(
                    f"the token refuses ECDH with key {self._label!r} (CKA_DERIVE,"
                    f" CKM_ECDH1_DERIVE): {exc!r}"
                ) from None

    def build_csr(self, site_id: str, kiosk_name: str) -> bytes:
        """PKCS#10 CSR (DER) signed on the token; same subject as the software backend."""
        spki = self.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        info = asn1_csr.CertificationRequestInfo(
            {
                "version": "v1",
                "subject": asn1_csr.Name.build(
                    {
                        "organization_name": "AIMA CLAIM kiosk",
                        "organizational_unit_name": site_id,
                        "common_name": kiosk_name,
                    }
                ),
                "subject_pk_info": asn1_keys.PublicKeyInfo.load(spki),
                "attributes": [],
            }
        )
        signature = self.sign(info.dump())
        request = asn1_csr.CertificationRequest(
            {
                "certification_request_info": info,
                "signature_algorithm": {"algorithm": "sha256_ecdsa"},
                "signature": signature,
            }
        )
        return bytes(request.dump())
