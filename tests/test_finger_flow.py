"""The 4-4-2 flow on the simulated reader, ending in an ANSI/NIST transaction in a sealed packet."""

from __future__ import annotations

import io

import pytest

from appliance.config.quality import FingerQualityThresholds
from appliance.finger.flow import FingerException, FlowError, TenPrintFlow
from appliance.finger.records import MissingFinger, ansi_nist_transaction
from drivers.interfaces import CaptureKind, FingerPosition
from drivers.sim.config import SimReaderConfig
from drivers.sim.fingerprint_synth import FingerDefects
from drivers.sim.reader import SimFingerprintReader, SimPresentation
from packet.open import MemorySink, open_packet
from packet.seal import ItemSource, seal_packet
from tests.sealing_helpers import META, make_world
from tests.test_finger_records import parse_ansi_nist

pytestmark = pytest.mark.timeout(240)


async def _reader(subject: int = 11) -> SimFingerprintReader:
    reader = SimFingerprintReader(
        SimReaderConfig(type="sim", subject_seed=subject, finger_delay_s=0, lift_delay_s=0)
    )
    await reader.open()
    return reader


async def test_full_442_yields_a_transaction_inside_a_sealed_packet() -> None:
    reader = await _reader()
    flow = TenPrintFlow(reader, FingerQualityThresholds())
    result = await flow.capture_442()
    assert result.ok, result.problems
    assert {k: len(s.fingers) for k, s in result.slaps.items()} == {
        CaptureKind.SLAP_RIGHT_FOUR: 4,
        CaptureKind.SLAP_LEFT_FOUR: 4,
        CaptureKind.SLAP_THUMBS: 2,
    }
    transaction = ansi_nist_transaction(
        result.captures(), result.missing, transaction_control="T-442", originating_agency="AIMA"
    )
    world = make_world()
    out = io.BytesIO()
    seal_packet(
        out,
        [ItemSource("tenprint.an2", "record", "application/x-ansi-nist", transaction)],
        signer=world.identity,
        central_key=world.central.public(),
        meta=META,
    )
    sink = MemorySink()
    open_packet(io.BytesIO(out.getvalue()), world.keyring, world.trust, sink)
    records = parse_ansi_nist(bytes(sink.items["tenprint.an2"]))
    type14 = [r for r in records if r["type"] == 14]
    assert sorted(int(r[13]) for r in type14) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 14, 15]


async def test_retries_keep_the_best_attempt() -> None:
    reader = await _reader()
    reader.present(
        SimPresentation(defects=FingerDefects(blank=True)),
        SimPresentation(defects=FingerDefects(noise_only=True)),
    )
    flow = TenPrintFlow(reader, FingerQualityThresholds(retries=3))
    slap = await flow.capture_slap(CaptureKind.SLAP_THUMBS)
    assert slap.accepted
    assert slap.attempts == 3


class _Turn:
    """Records the flow's hand-overs; ``free`` says whether a retake may have the reader."""

    def __init__(self, free: bool) -> None:
        self.free = free
        self.log: list[str] = []

    def judging(self) -> None:
        self.log.append("judging")

    def retake(self) -> bool:
        self.log.append(f"retake:{self.free}")
        return self.free


async def test_a_rejected_slap_retakes_only_while_the_reader_is_still_its_own() -> None:
    reader = await _reader()
    reader.present(SimPresentation(defects=FingerDefects(noise_only=True)))
    flow = TenPrintFlow(reader, FingerQualityThresholds(retries=3))
    # The applicant is still on the glass: the reader takes the slap again at once.
    stayed = _Turn(free=True)
    slap = await flow.capture_slap(CaptureKind.SLAP_THUMBS, turn=stayed)
    assert slap.accepted and slap.attempts == 2
    assert stayed.log == ["judging", "retake:True", "judging"]
    # The next slap took the reader while this one was judged: it ends with its best
    # attempt (rejected), and the operator retakes it.
    reader.present(SimPresentation(defects=FingerDefects(noise_only=True)))
    moved_on = _Turn(free=False)
    slap = await flow.capture_slap(CaptureKind.SLAP_THUMBS, turn=moved_on)
    assert not slap.accepted and slap.attempts == 1
    assert moved_on.log == ["judging", "retake:False"]


async def test_missing_finger_needs_a_different_supervisor() -> None:
    reader = await _reader()
    missing = MissingFinger(FingerPosition.RIGHT_RING, "XX")
    flow = TenPrintFlow(reader, FingerQualityThresholds())
    with pytest.raises(FlowError, match="supervisor"):
        await flow.capture_442([FingerException(missing, "op-1", "")])
    with pytest.raises(FlowError, match="another person"):
        await flow.capture_442([FingerException(missing, "op-1", "op-1")])
    slap = await flow.capture_slap(
        CaptureKind.SLAP_RIGHT_FOUR, frozenset({FingerPosition.RIGHT_RING})
    )
    assert slap.accepted
    assert [p for p, _, _ in slap.fingers] == [
        FingerPosition.RIGHT_INDEX,
        FingerPosition.RIGHT_MIDDLE,
        FingerPosition.RIGHT_LITTLE,
    ]


async def test_same_hand_twice_is_detected() -> None:
    reader = await _reader()
    # The applicant puts the right hand down again when asked for the left.
    reader.present(SimPresentation(), SimPresentation(present_kind=CaptureKind.SLAP_RIGHT_FOUR))
    flow = TenPrintFlow(reader, FingerQualityThresholds(retries=0))
    result = await flow.capture_442()
    assert not result.ok
    assert "finger.same_hand_twice" in result.problems
    assert "finger.wrong_hand:slap_left_four" in result.problems


async def test_flat_single_with_retries() -> None:
    reader = await _reader()
    reader.present(SimPresentation(defects=FingerDefects(blank=True)))
    flow = TenPrintFlow(reader, FingerQualityThresholds(retries=2))
    pixels, assessment, attempts = await flow.capture_single(FingerPosition.LEFT_INDEX)
    assert assessment.accepted and attempts == 2
    assert pixels.ndim == 2
    with pytest.raises(FlowError):
        await flow.capture_single(FingerPosition.LEFT_INDEX, CaptureKind.SLAP_THUMBS)
