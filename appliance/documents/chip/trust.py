"""The CSCA trust store: country signing CAs and their CRLs.

Loaded from a folder of CSCA certificates (PEM or DER) and/or an ICAO CSCA
master list (ICAO 9303-12 §9: a CMS SignedData over ``CscaMasterList``). A
master list is accepted only when its CMS signature verifies and its signer
certificate was issued by a CSCA pinned in the config (by SHA-256 of the
certificate): a list that merely signs itself proves nothing. CRLs are used
only when their signature verifies under the CSCA that issued them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

from asn1crypto import cms, core  # type: ignore[import-untyped]
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from appliance.config.documents import ChipConfig
from appliance.documents.chip.sod import _HASHES, Sod, SodError, signature_valid

logger = logging.getLogger(__name__)

CSCA_MASTER_LIST = "2.23.136.1.1.2"
MAX_FILE_BYTES = 256 * 1024
MAX_MASTER_LIST_BYTES = 16 * 1024 * 1024
MAX_FILES = 5000


class TrustStoreError(ValueError):
    """A trust source is missing, malformed or not authentic."""


class _Certificates(core.SetOf):  # type: ignore[misc]  # asn1crypto is untyped
    _child_spec = asn1_x509.Certificate


class _CscaMasterList(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    _fields = [("version", core.Integer), ("certs", _Certificates)]  # noqa: RUF012


def fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


@dataclass
class CscaTrustStore:
    cscas: list[x509.Certificate] = field(default_factory=list)
    crls: list[x509.CertificateRevocationList] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def issuers_of(self, cert: x509.Certificate) -> list[x509.Certificate]:
        """CSCAs whose name and signature match ``cert``'s issuer."""
        found = []
        for csca in self.cscas:
            if _issued_by(cert, csca):
                found.append(csca)
        return found

    def is_revoked(self, cert: x509.Certificate, issuer: x509.Certificate) -> bool:
        for crl in self.crls:
            if crl.issuer != issuer.subject:
                continue
            if crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None:
                return True
        return False

    def add_crl(self, crl: x509.CertificateRevocationList, source: str) -> bool:
        for csca in self.cscas:
            if csca.subject == crl.issuer and crl.is_signature_valid(csca.public_key()):  # type: ignore[arg-type]
                self.crls.append(crl)
                return True
        logger.warning("CRL %s: no CSCA in the trust store verifies it; ignored", source)
        return False


def _read_bounded(path: Path, limit: int) -> bytes:
    size = path.stat().st_size
    if size > limit:
        raise TrustStoreError(f"{path}: {size} bytes exceeds the limit of {limit}")
    return path.read_bytes()


def _load_certs(data: bytes, source: str) -> list[x509.Certificate]:
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise TrustStoreError(f"{source}: not a certificate: {exc}") from exc


def _load_crl(data: bytes, source: str) -> x509.CertificateRevocationList:
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError as exc:
        raise TrustStoreError(f"{source}: not a CRL: {exc}") from exc


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise TrustStoreError(f"{folder} is not a directory")
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if len(files) > MAX_FILES:
        raise TrustStoreError(f"{folder} holds {len(files)} files; the limit is {MAX_FILES}")
    return files


def master_list_certificates(
    data: bytes, anchors: list[x509.Certificate]
) -> list[x509.Certificate]:
    """The CSCAs of an authentic master list (signature and signer issuer checked)."""
    if len(data) > MAX_MASTER_LIST_BYTES:
        raise TrustStoreError(f"master list of {len(data)} bytes exceeds the limit")
    try:
        info = cms.ContentInfo.load(data)
        signed = info["content"]
        encap = signed["encap_content_info"]
        if encap["content_type"].dotted != CSCA_MASTER_LIST:
            raise TrustStoreError("not a CSCA master list (content type)")
        content = encap["content"].contents
        listed = [
            x509.load_der_x509_certificate(c.dump()) for c in _CscaMasterList.load(content)["certs"]
        ]
        signer_infos = list(signed["signer_infos"])
        if len(signer_infos) != 1:
            raise TrustStoreError("a master list has exactly one signer")
        certs = [c.chosen for c in signed["certificates"] or [] if c.name == "certificate"]
    except TrustStoreError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise TrustStoreError(f"master list is malformed: {exc}") from exc
    # reuse the SOD machinery: same CMS shape, different content type
    signer_info = signer_infos[0]
    attrs = signer_info["signed_attrs"]
    digest = signer_info["digest_algorithm"]["algorithm"].native
    if digest not in _HASHES:
        raise TrustStoreError(f"master list digest {digest} unsupported")
    found = {a["type"].native: a["values"][0] for a in attrs} if len(attrs) else {}
    md = found.get("message_digest")
    if md is None or bytes(md.native) != hashlib.new(digest, content).digest():
        raise TrustStoreError("master list message digest does not match its content")
    sid = signer_info["sid"].chosen
    signer = None
    for cert in certs:
        if signer_info["sid"].name == "issuer_and_serial_number":
            if cert.issuer == sid["issuer"] and cert.serial_number == sid["serial_number"].native:
                signer = x509.load_der_x509_certificate(cert.dump())
        elif cert.key_identifier == sid.native:
            signer = x509.load_der_x509_certificate(cert.dump())
    if signer is None:
        raise TrustStoreError("master list does not carry its signer certificate")
    algo = signer_info["signature_algorithm"]
    signature = bytes(signer_info["signature"].native)
    signed_attrs = b"\x31" + attrs.dump()[1:]
    sod = Sod(
        "sha256", {}, signer, signed_attrs, signature, algo.signature_algo, digest, None, True
    )
    if not signature_valid(sod):
        raise TrustStoreError("master list signature does not verify")
    if not any(_issued_by(signer, anchor) for anchor in anchors):
        raise TrustStoreError("master list signer is not issued by a pinned CSCA")
    return listed


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def load_trust_store(
    *,
    csca_dir: Path | None = None,
    master_list: Path | None = None,
    master_list_anchors: tuple[str, ...] = (),
    crl_dir: Path | None = None,
) -> CscaTrustStore:
    """Build the store; raises :class:`TrustStoreError` naming the bad source."""
    store = CscaTrustStore()
    if csca_dir is not None:
        for path in _files(csca_dir):
            store.cscas += _load_certs(_read_bounded(path, MAX_FILE_BYTES), str(path))
        store.sources.append(f"folder:{csca_dir}")
    if master_list is not None:
        if not master_list.is_file():
            raise TrustStoreError(f"master list {master_list} is missing")
        wanted = {a.lower() for a in master_list_anchors}
        candidates = [c for c in store.cscas if fingerprint(c) in wanted]
        data = _read_bounded(master_list, MAX_MASTER_LIST_BYTES)
        try:
            listed = master_list_certificates(data, candidates)
        except TrustStoreError:
            # the anchor may be inside the list itself (a country's own CSCA)
            inner = _list_without_check(data)
            listed = master_list_certificates(data, [c for c in inner if fingerprint(c) in wanted])
        store.cscas += listed
        store.sources.append(f"master_list:{master_list}")
    if crl_dir is not None:
        for path in _files(crl_dir):
            store.add_crl(_load_crl(_read_bounded(path, MAX_FILE_BYTES), str(path)), str(path))
    if not store.cscas:
        raise TrustStoreError("the CSCA trust store is empty")
    return store


def _list_without_check(data: bytes) -> list[x509.Certificate]:
    try:
        content = cms.ContentInfo.load(data)["content"]["encap_content_info"]["content"].contents
        return [
            x509.load_der_x509_certificate(c.dump()) for c in _CscaMasterList.load(content)["certs"]
        ]
    except (ValueError, TypeError, KeyError) as exc:
        raise TrustStoreError(f"master list is malformed: {exc}") from exc


def is_valid_at(cert: x509.Certificate, when: dt.datetime) -> bool:
    return cert.not_valid_before_utc <= when <= cert.not_valid_after_utc


__all__ = ["CscaTrustStore", "SodError", "TrustStoreError", "load_trust_store"]


def trust_store_for(chip: ChipConfig) -> CscaTrustStore:
    """The store ``documents.chip`` configures (the daemon and ``doc-chip`` both use it)."""
    return load_trust_store(
        csca_dir=chip.csca_dir,
        master_list=chip.master_list,
        master_list_anchors=tuple(chip.master_list_anchors),
        crl_dir=chip.crl_dir,
    )
