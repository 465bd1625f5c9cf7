"""The kiosk's case directory: the signed list refused when tampered, sealed at rest under the
device key (no plaintext name on disk), purged at the end of the day (clock moved), lookups
from the list while central is down, and the offline check-in delivered once central is back.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from appliance.cases import Outcome, Source
from appliance.cases.checkins import CheckInQueue
from appliance.cases.model import CheckInTicket
from appliance.cases.sealed_file import SealedFileError, read_sealed, seal, unseal
from appliance.identity.software_key import SoftwareDeviceKey
from central.device_ca import DeviceCA
from packet.daylist import DayListInvalid, SignedDayList, parse_day_list, sign_day_list
from packet.scan import scan_tree
from tests.cases_world import close_case_world, make_case_world

pytestmark = pytest.mark.timeout(120)


def _flip(data: bytes, offset: int) -> bytes:
    return data[:offset] + bytes([data[offset] ^ 0x01]) + data[offset + 1 :]


async def test_a_tampered_or_foreign_day_list_is_refused(tmp_path: Path) -> None:
    world = await make_case_world(tmp_path)
    try:
        directory = world.directory()
        today = directory.today()
        signed = await directory._client.day_list(today, 5)  # type: ignore[union-attr]
        verify = directory.day_lists.verify
        verify(signed, today)
        name = world.open_cases()[0][0].full_name.encode()
        at = signed.signed_list.index(name)
        cases = {
            "signature_invalid": dataclasses.replace(
                signed, signed_list=_flip(signed.signed_list, at)
            ),
            "signature_invalid ": dataclasses.replace(signed, signature=_flip(signed.signature, 8)),
            "chain_invalid": dataclasses.replace(signed, chain_der=(b"not a certificate",)),
        }
        for code, bad in cases.items():
            with pytest.raises(DayListInvalid) as refused:
                verify(bad, today)
            assert refused.value.code in (code.strip(), "signer_untrusted"), code
        # A list signed by a key that does not chain to the kiosk's anchors.
        rogue = DeviceCA.create("rogue CA")
        key, cert = rogue.issue_day_list_signer()
        forged = sign_day_list(parse_day_list(signed.signed_list), key, [cert])
        with pytest.raises(DayListInvalid) as untrusted:
            verify(forged, today)
        assert untrusted.value.code == "signer_untrusted"
        # Central's receipt signer (right CA, wrong purpose) cannot sign day lists.
        server_key, server_cert = world.state.signer_key, world.state.signer_cert
        wrong_purpose = sign_day_list(parse_day_list(signed.signed_list), server_key, [server_cert])
        with pytest.raises(DayListInvalid) as purpose:
            verify(wrong_purpose, today)
        assert purpose.value.code == "signer_untrusted"
        # Correctly signed, but not canonical JSON.
        spaced = signed.signed_list.replace(b'{"appointments"', b'{ "appointments"', 1)
        signature = world.desk.signer_key.sign(spaced, ec.ECDSA(hashes.SHA256()))
        loose = SignedDayList(spaced, signature, signed.chain_der)
        with pytest.raises(DayListInvalid) as canonical:
            verify(loose, today)
        assert canonical.value.code == "not_canonical"
        # Another site's or another device's list, correctly signed, is refused too.
        listed = parse_day_list(signed.signed_list)
        for field, value, code in [
            ("site_id", "CLAIM-OTHER", "wrong_site"),
            ("device_id", "dev-someone-else", "wrong_device"),
        ]:
            other = dataclasses.replace(listed, **{field: value})
            resigned = sign_day_list(other, world.desk.signer_key, world.desk.signer_chain)
            with pytest.raises(DayListInvalid) as wrong:
                verify(resigned, today)
            assert wrong.value.code == code
        world.now[0] = listed.not_after + dt.timedelta(seconds=1)
        with pytest.raises(DayListInvalid) as expired:
            verify(signed, today)
        assert expired.value.code in ("expired", "wrong_day")
    finally:
        await close_case_world(world)


async def test_the_day_list_is_sealed_to_the_device_key(tmp_path: Path) -> None:
    world = await make_case_world(tmp_path)
    try:
        directory = world.directory(pseudonymise=lambda reference: f"digest:{reference}")
        assert await directory.refresh_day_list()
        assert await directory.refresh_day_list()  # the same list: listed once
        [listed] = [f for e, f in world.operations if e == "appointments.listed"]
        here = [c.case_reference for c, a in world.seeded if a[0].site_id == "CLAIM-T"]
        assert listed["case_digests"] == sorted(f"digest:{r}" for r in here)
        today = directory.today()
        path = directory.day_lists.path(today)
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        known: dict[str, bytes] = {}
        for case, appointments in world.seeded:
            known[f"name {case.case_reference}"] = case.full_name.encode()
            known[f"name utf-16 {case.case_reference}"] = case.full_name.encode("utf-16-le")
            known[f"document {case.case_reference}"] = case.document_number.encode()
            known[f"reference {case.case_reference}"] = case.case_reference.encode()
            known[f"code {case.case_reference}"] = appointments[0].appointment_code.encode()
        assert scan_tree(tmp_path / "kiosk" / "cases", known) == []
        # Readable with this device's key, for this context only.
        key = directory.day_lists._key
        context = f"day-list|CLAIM-T|{today.isoformat()}".encode()
        signed = SignedDayList.from_bytes(read_sealed(path, key, context))
        assert directory.day_lists.verify(signed, today).appointments
        with pytest.raises(SealedFileError):
            read_sealed(path, key, f"day-list|CLAIM-T|{today - dt.timedelta(days=1)}".encode())
        other = SoftwareDeviceKey(ec.generate_private_key(ec.SECP256R1()))
        with pytest.raises(SealedFileError):
            read_sealed(path, other, context)
        data = path.read_bytes()
        with pytest.raises(SealedFileError):
            unseal(key, context, _flip(data, len(data) - 20))
        assert unseal(other, b"x", seal(other.public_key(), b"x", b"round trip")) == b"round trip"
        # After a restart the kiosk reads it back (and verifies it again).
        again = world.directory()
        assert again.day_lists.load(today) is not None
        assert len(again.appointments(today)) == len(directory.appointments(today)) > 0
    finally:
        await close_case_world(world)


async def test_the_day_list_is_purged_at_the_end_of_the_day(tmp_path: Path) -> None:
    world = await make_case_world(tmp_path)
    try:
        directory = world.directory()
        today = directory.today()
        end = directory.day_bounds(today)[1]
        world.now[0] = end - dt.timedelta(minutes=1)  # 23:59, site time
        stale = directory.day_lists.path(today - dt.timedelta(days=3))  # the kiosk was off
        stale.write_bytes(b"AIMA-SF1 an old list")
        assert await directory.refresh_day_list()  # every refresh purges other days first
        assert not stale.exists()
        path = directory.day_lists.path(today)
        assert path.exists() and directory.appointments(today)
        assert directory.end_of_day() == []  # not yet
        world.now[0] = end + dt.timedelta(seconds=1)  # 00:00:01 the next day
        assert directory.end_of_day() == [today]
        assert not path.exists()
        assert directory.appointments(today) == []
        purged = ("appointments.purged", {"day": today.isoformat(), "count": len(world.seeded) - 2})
        assert purged in world.operations
        listed = [f for e, f in world.operations if e == "appointments.listed"]
        assert listed == [{"day": today.isoformat(), "count": len(world.seeded) - 2}]
        check = await directory._lookup("AIMA-2026-NOT-LISTED")
        assert check.outcome is Outcome.NOT_FOUND  # central still answers online
        await world.central_down()
        offline = await directory.lookup(world.open_cases()[0][0].case_reference)
        assert (offline.outcome, offline.source) == (Outcome.UNVERIFIABLE, Source.NONE)
    finally:
        await close_case_world(world)


async def test_check_in_queue_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "check-ins.sqlite"
    queue = CheckInQueue(path)
    now = dt.datetime.now(dt.UTC)
    ticket = CheckInTicket("3b1f8f2e-6d1a-4b0e-9a55-2f1f9c7c0a11", "APT-7K3M9Q2X", now, True)
    queue.add(ticket)
    queue.add(ticket)  # the same check-in once
    queue.close()
    reopened = CheckInQueue(path)
    [back] = reopened.pending()
    assert back.check_in_id == ticket.check_in_id and back.verified_offline
    assert abs((back.checked_in_at - now).total_seconds()) < 0.001
    reopened.remove(ticket.check_in_id)
    assert reopened.status().pending == 0
    reopened.close()


async def test_offline_lookup_and_check_in_delivered_once_central_is_back(
    tmp_path: Path,
) -> None:
    world = await make_case_world(tmp_path)
    try:
        directory = world.directory(checkin_retry_max_s=1.0, lookup_timeout_s=2.0)
        await directory.start()  # pulls today's list
        for _ in range(100):
            if directory.appointments(directory.today()):
                break
            await asyncio.sleep(0.05)
        case, appointments = world.open_cases()[2]
        await world.central_down()

        check = await directory.lookup(appointments[0].appointment_code)
        assert (check.outcome, check.source) == (Outcome.FOUND, Source.DAY_LIST)
        assert check.case is not None and check.case.full_name == case.full_name
        missing = await directory.lookup("AIMA-2026-00000001")
        assert missing.outcome is Outcome.NOT_IN_DAY_LIST
        ticket = directory.check_in(check)
        assert ticket is not None and ticket.verified_offline
        assert not await directory.deliver_check_ins()
        assert directory.queue.status().pending == 1
        day = directory.day_bounds(directory.today())
        assert await world.desk.store.check_ins("CLAIM-T", *day) == []

        await world.central_up()
        for _ in range(200):  # the sender's loop retries within checkin_retry_max_s
            if directory.queue.status().pending == 0:
                break
            await asyncio.sleep(0.05)
        assert directory.queue.status().pending == 0
        [attendance] = await world.desk.store.check_ins("CLAIM-T", *day)
        assert attendance.check_in_id == ticket.check_in_id
        assert attendance.verified_offline
        assert attendance.checked_in_at == ticket.checked_in_at  # the time at the counter
        assert attendance.device_id == world.identity.identity.device_id
        assert await directory.deliver_check_ins()  # nothing left: nothing sent twice
        events = [event for event, _ in world.operations]
        assert events.count("case.check_in") == 1 and events.count("case.check_in_sent") == 1
        lookup = next(f for e, f in world.operations if e == "case.lookup")
        assert lookup == {
            "operator": "",
            "case_reference": case.case_reference,
            "mode": "offline",
            "outcome": "found",
        }
        assert ("case.check_in_sent", {"case_reference": case.case_reference}) in world.operations
        assert (
            "case.check_in",
            {"operator": "", "case_reference": case.case_reference, "mode": "queued"},
        ) in world.operations
    finally:
        await close_case_world(world)


async def test_the_status_command_shows_no_applicant_data(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    world = await make_case_world(tmp_path)
    try:
        directory = world.directory()
        assert await directory.refresh_day_list()
        await world.central_down()
        directory.check_in(await directory.lookup(world.open_cases()[0][0].case_reference))
        state = str(tmp_path / "kiosk")
        done = await asyncio.to_thread(
            subprocess.run,
            [
                *(sys.executable, "-m", "appliance", "cases", "status"),
                "--json",
                "--state-dir",
                state,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        status = json.loads(done.stdout)
        assert [d["day"] for d in status["day_lists"]] == [directory.today().isoformat()]
        assert status["check_ins"]["pending"] == 1
        for case, appointments in world.seeded:
            for value in (case.case_reference, case.full_name, appointments[0].appointment_code):
                assert value not in done.stdout
    finally:
        await close_case_world(world)
