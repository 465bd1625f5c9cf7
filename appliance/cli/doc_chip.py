"""``appliance doc-chip``: read a passport / residence-permit chip over PC/SC and verify it.

    appliance doc-chip --mrz "P<UTO...<<<" --csca-dir /etc/appliance/csca --json
    appliance doc-chip --document-number L898902C3 --birth 740812 --expiry 340415 \\
        --printed-mrz "..." --config /etc/appliance/config.yaml --live face.jpg --json

Prints one JSON object: reader, access protocol (BAC/PACE), data groups read,
the passive-authentication verdict and reason, Active/Chip Authentication,
DG1 = printed MRZ, and with ``--live`` the face-match distance and threshold.
Exit 0 when everything passed, 1 when a verdict failed, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from appliance.cli.main import CliError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("doc-chip", help="read and verify a document chip (PC/SC)")
    parser.add_argument("--mrz", help="the printed MRZ (TD1/TD2/TD3); gives the access keys")
    parser.add_argument("--document-number", help="access key: document number")
    parser.add_argument("--birth", help="access key: date of birth, YYMMDD")
    parser.add_argument("--expiry", help="access key: date of expiry, YYMMDD")
    parser.add_argument("--printed-mrz", help="MRZ to compare with DG1 (default: --mrz)")
    parser.add_argument("--config", type=Path, help="appliance config (reader and trust store)")
    parser.add_argument("--csca-dir", type=Path, help="folder of CSCA certificates")
    parser.add_argument("--master-list", type=Path, help="ICAO CSCA master list")
    parser.add_argument("--anchor", action="append", default=[], help="master-list anchor SHA-256")
    parser.add_argument("--crl-dir", type=Path, help="folder of CSCA CRLs")
    parser.add_argument("--reader", default="", help="use the PC/SC reader whose name has this")
    parser.add_argument("--allow-virtual", action="store_true", help="accept vpcd readers (tests)")
    parser.add_argument("--wait", type=float, default=15.0, help="seconds to wait for the card")
    parser.add_argument("--live", type=Path, help="live face capture to match against DG2")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def _key(args: argparse.Namespace) -> Any:
    from drivers.emrtd.mrz_key import MrzKeyInput

    try:
        if args.mrz:
            return MrzKeyInput.from_mrz(args.mrz)
        if args.document_number and args.birth and args.expiry:
            return MrzKeyInput(args.document_number, args.birth, args.expiry)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    raise CliError("give --mrz, or --document-number, --birth and --expiry")


def _settings(args: argparse.Namespace) -> tuple[Any, Any]:
    from appliance.config.documents import ChipConfig
    from drivers.pcsc.config import PcscReaderConfig

    reader = PcscReaderConfig(
        type="pcsc", reader_name=args.reader, allow_virtual=args.allow_virtual
    )
    chip = ChipConfig(
        csca_dir=args.csca_dir,
        master_list=args.master_list,
        master_list_anchors=args.anchor,
        crl_dir=args.crl_dir,
    ) if (args.csca_dir or args.master_list) else None  # fmt: skip
    if args.config is not None:
        from appliance.config import ConfigError, load_config

        try:
            config = load_config(args.config)
        except ConfigError as exc:
            raise CliError(str(exc)) from exc
        if config.devices.document_reader is not None:
            reader = config.devices.document_reader
        chip = chip or config.documents.chip
    if chip is None or not (chip.csca_dir or chip.master_list):
        raise CliError("no CSCA trust store: give --csca-dir / --master-list or a --config")
    return reader, chip


async def _read(reader_config: Any, key: Any, wait_s: float) -> Any:
    from appliance.documents.chip.read import read_chip
    from drivers.pcsc.reader import PcscDocumentReader

    reader = PcscDocumentReader(reader_config)
    await reader.open()
    try:
        return await read_chip(reader, key, wait_s=wait_s)
    finally:
        await reader.close()


def run(args: argparse.Namespace) -> int:
    from appliance.documents.chip.trust import TrustStoreError, trust_store_for
    from appliance.documents.chip.verdict import verify_chip
    from drivers.errors import DeviceError

    key = _key(args)
    reader_config, chip = _settings(args)
    try:
        trust = trust_store_for(chip)
    except TrustStoreError as exc:
        raise CliError(f"trust store: {exc}") from exc
    try:
        reading = asyncio.run(_read(reader_config, key, args.wait))
    except DeviceError as exc:
        out = {"ok": False, "error": exc.message_key, "detail": exc.detail}
        print(json.dumps(out) if args.json else f"{exc.message_key}: {exc.detail}")
        return 1
    verdict = verify_chip(reading, trust, args.printed_mrz or args.mrz)
    report: dict[str, Any] = {
        "ok": verdict.passed,
        "reader": reading.reader,
        "access": verdict.access,
        "pace_offered": reading.pace_offered,
        "groups_read": verdict.groups_read,
        "pa": {
            "passed": verdict.pa_passed,
            "reason": verdict.reason.value,
            "detail": verdict.detail,
        },
        "dg1_equals_mrz": verdict.dg1_matches_mrz,
        "active_auth": verdict.active_auth,
        "chip_auth": verdict.chip_auth,
        "read_ms": round(reading.read_ms, 1),
        "notes": list(verdict.notes),
        "face_match": None,
    }
    if args.live is not None:
        report["face_match"] = _face_match(reading, args.live, chip.face_match_threshold)
        report["ok"] = report["ok"] and bool(report["face_match"].get("match"))
    if args.json:
        print(json.dumps(report))
    else:
        for name, value in report.items():
            print(f"{name:>15}: {value}")
    return 0 if report["ok"] else 1


def _face_match(reading: Any, live_path: Path, threshold: float) -> dict[str, Any]:
    import cv2

    from appliance.facematch.dg2 import Dg2Error, decode_dg2
    from appliance.facematch.matcher import FaceMatcher, NoFaceFound
    from appliance.facematch.models import MatchModelError

    dg2 = reading.data_groups.get(2)
    if dg2 is None:
        return {"match": False, "error": "dg2_missing"}
    live = cv2.imread(str(live_path), cv2.IMREAD_COLOR)
    if live is None:
        raise CliError(f"{live_path}: not a readable image")
    try:
        result = FaceMatcher(threshold=threshold).compare(
            decode_dg2(dg2).image, live.astype("uint8")
        )
    except MatchModelError as exc:
        raise CliError(str(exc)) from exc
    except (Dg2Error, NoFaceFound) as exc:
        return {"match": False, "error": str(exc)}
    return {
        "match": result.match,
        "distance": round(result.distance, 4),
        "threshold": result.threshold,
        "ms": round(result.ms, 1),
    }
