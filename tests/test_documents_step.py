"""The documents step: the MRZ read and checked against the case, the supervisor's
override, and the chip read on the real pcscd + vpcd stack with the face match.

The simulated applicant shows their own document (SimulatedCounter); a test that
wants another document on the counter writes it after the enrolment started.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from appliance.capture import documents as documents_module
from appliance.capture.documents import DocumentCapture
from appliance.demo import to_documents
from appliance.workflow.chip_step import CHIP_TASK
from appliance.workflow.engine import WorkflowEngine
from appliance.workflow.state import Step, TransitionError
from drivers.interfaces import ImageU8
from drivers.sim.emrtd import lds_builder as lb
from drivers.sim.emrtd.card import ATR, CardGone, EmulatedPassport
from drivers.sim.emrtd.vpcd import VirtualCardLink
from tests.chip_world import make_pki, pcsc_stack_unavailable, pcscd, portrait, wait_reader_empty
from tests.e2e.world import CASE_REFERENCE, TEST_CASES, counter_slip, kiosk_world, show_document

pytestmark = pytest.mark.timeout(600)


_show = show_document


async def _wait(workflow: WorkflowEngine, name: str) -> None:
    task = workflow.tasks.task(name)
    if task is not None:
        await asyncio.gather(task, return_exceptions=True)


@pytest.fixture
def analysed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per preview frame the documents' guidance analyses from now on."""
    frames: list[int] = []
    analyse = DocumentCapture.analyse

    def counted(self: DocumentCapture, image: ImageU8) -> dict[str, Any]:
        frames.append(1)
        return analyse(self, image)

    monkeypatch.setattr(DocumentCapture, "analyse", counted)
    return frames


async def test_a_scan_reads_the_slip_under_the_camera_now_not_the_last_frame(
    tmp_path: Path, analysed: list[int]
) -> None:
    async with kiosk_world(tmp_path, central_up=False) as world:
        workflow = world.app.workflow
        assert await workflow.documents.scan_qr(10) == CASE_REFERENCE
        # The next applicant's slip: a frame taken before this scan shows the first one.
        counter_slip(world.root, TEST_CASES[1])
        assert await workflow.documents.scan_qr(10) == TEST_CASES[1]
        # A scan needs no document outline or MRZ guidance: the text detector stays idle.
        assert analysed == []


async def test_the_document_of_another_person_needs_a_supervisor(tmp_path: Path) -> None:
    async with kiosk_world(tmp_path, central_up=False) as world:
        workflow = world.app.workflow
        await to_documents(workflow, TEST_CASES[1])
        _show(world, TEST_CASES[2])  # the applicant hands over someone else's permit
        async for analysis in workflow.documents.preview.analyses():  # guidance at this step
            assert "mrz_band" in analysis and "prompts" in analysis
            break
        await workflow.documents.capture("residence_permit")
        await workflow.documents.settled()
        [document] = workflow.view().documents
        assert document.mrz is not None and document.mrz.verdict == "valid"
        assert {m.field for m in document.mismatches} >= {"name", "document_number"}
        assert document.blocking and document.override is None
        with pytest.raises(TransitionError) as blocked:
            await workflow.finish_documents()
        assert blocked.value.code == "document.needs_supervisor"
        with pytest.raises(TransitionError) as refused:
            await workflow.documents.override(
                document.capture_id, "ana", "sofia", "000000", "checked with the passport"
            )
        assert refused.value.code == "finger.supervisor_refused"
        await workflow.documents.override(
            document.capture_id, "ana", "sofia", "246810", "checked with the passport"
        )
        await workflow.finish_documents()
        assert workflow.view().step == "review"
        events = [event for event, _ in world.operations]
        assert "document.checked" in events and "document.override" in events
        checked = next(fields for event, fields in world.operations if event == "document.checked")
        assert checked["verdict"] == "valid" and "name" in checked["mismatches"]  # type: ignore[operator]


async def test_the_applicants_own_document_passes_and_its_fields_are_sealed(
    tmp_path: Path,
) -> None:
    async with kiosk_world(tmp_path, central_up=False) as world:
        workflow = world.app.workflow
        await to_documents(workflow, TEST_CASES[3])  # SimulatedCounter shows their own
        await workflow.documents.capture("residence_permit")
        await workflow.documents.settled()
        [document] = workflow.view().documents
        assert document.mrz is not None and document.mrz.verdict == "valid"
        assert document.mismatches == [] and not document.blocking
        item = workflow.capture.capture(document.capture_id)
        assert item is not None and item.quality["mrz.verdict"] == "valid"
        assert item.quality["mrz.document_number"].startswith("SYN")
        await workflow.finish_documents()
        assert workflow.require(Step.REVIEW)


async def test_the_preview_guidance_waits_while_the_document_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, analysed: list[int]
) -> None:
    during: list[tuple[int, int]] = []
    read = documents_module.read_document_mrz

    def watched(reader: Any, rectified: Any) -> Any:
        before = len(analysed)
        try:
            return read(reader, rectified)
        finally:
            during.append((before, len(analysed)))

    monkeypatch.setattr(documents_module, "read_document_mrz", watched)
    async with kiosk_world(tmp_path, central_up=False) as world:
        workflow = world.app.workflow
        await to_documents(workflow, TEST_CASES[3])
        preview = workflow.documents.preview
        async with preview.viewer():  # the operator's screen shows the guided preview
            async for _analysis in preview.analyses():
                if len(analysed) >= 2:
                    break
            await workflow.documents.capture("residence_permit")
            await workflow.documents.settled()
            [(before, after)] = during
            assert after == before  # the text detector left the cores to the read
            async for _analysis in preview.analyses():  # and the guidance goes on after it
                if len(analysed) > after:
                    break
        [document] = workflow.view().documents
        assert document.mrz is not None and document.mrz.verdict == "valid"


_real_read = documents_module.read_document_mrz


class _ReadGate:
    """Holds each MRZ read on its worker thread until released; tells when one began."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.began = asyncio.Event()
        self.release = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        monkeypatch.setattr(documents_module, "read_document_mrz", self._read)

    def bind(self) -> None:
        """Call from the test's event loop before the first read."""
        self._loop = asyncio.get_running_loop()

    def _read(self, reader: Any, rectified: Any) -> Any:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self.began.set)
        asyncio.run_coroutine_threadsafe(self.release.wait(), self._loop).result(timeout=60)
        return _real_read(reader, rectified)


async def test_the_photo_answers_at_once_and_its_mrz_is_read_in_the_background(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = _ReadGate(monkeypatch)
    async with kiosk_world(tmp_path, central_up=False) as world:
        gate.bind()
        workflow = world.app.workflow
        await to_documents(workflow, TEST_CASES[3])
        await workflow.documents.capture("residence_permit")
        [document] = workflow.view().documents
        assert document.reading and document.mrz is None and document.corrected
        assert workflow.capture.capture(document.capture_id) is not None  # the photo is kept
        assert "document.checked" not in [event for event, _ in world.operations]
        finishing = asyncio.create_task(workflow.finish_documents())  # waits for the read
        await asyncio.sleep(0.2)
        assert not finishing.done()
        gate.release.set()
        await finishing
        [document] = workflow.view().documents
        assert not document.reading and document.mrz is not None
        assert document.mrz.verdict == "valid"
        assert workflow.view().step == "review"
        assert "document.checked" in [event for event, _ in world.operations]


async def test_a_read_that_fails_shows_the_document_unreadable_and_keeps_the_photo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(reader: Any, rectified: Any) -> Any:
        raise RuntimeError("text detector crashed")

    monkeypatch.setattr(documents_module, "read_document_mrz", broken)
    async with kiosk_world(tmp_path, central_up=False) as world:
        workflow = world.app.workflow
        await to_documents(workflow, TEST_CASES[3])
        await workflow.documents.capture("residence_permit")
        await workflow.documents.settled()
        [document] = workflow.view().documents
        assert not document.reading
        assert document.mrz is not None and document.mrz.verdict == "unreadable"
        assert document.mrz.reason == "read_failed" and not document.blocking
        assert workflow.capture.capture(document.capture_id) is not None
        assert workflow.view().problem == "workflow.background_failed"
        # The operator removes it and takes it again, with a reader that works.
        monkeypatch.setattr(documents_module, "read_document_mrz", _real_read)
        await workflow.documents.remove(document.capture_id)
        await workflow.documents.capture("residence_permit")
        await workflow.finish_documents()
        [document] = workflow.view().documents
        assert document.mrz is not None and document.mrz.verdict == "valid"


async def test_a_document_removed_while_it_is_read_leaves_no_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = _ReadGate(monkeypatch)
    async with kiosk_world(tmp_path, central_up=False) as world:
        gate.bind()
        workflow = world.app.workflow
        await to_documents(workflow, TEST_CASES[3])
        await workflow.documents.capture("residence_permit")
        [document] = workflow.view().documents
        await gate.began.wait()
        await workflow.documents.remove(document.capture_id)
        gate.release.set()  # the worker thread ends; its result has no one to go to
        await workflow.documents.settled()
        assert workflow.view().documents == []
        assert workflow.documents.readings == {}
        assert "document.checked" not in [event for event, _ in world.operations]
        assert workflow.capture.capture(document.capture_id) is None


async def test_a_document_taken_after_review_is_checked_before_review_again(
    tmp_path: Path,
) -> None:
    """Back at the documents from review, another person's document is photographed:
    going on from an earlier step must not skip past it to review."""
    async with kiosk_world(tmp_path, central_up=False) as world:
        workflow = world.app.workflow
        await to_documents(workflow, TEST_CASES[3])
        await workflow.documents.capture("residence_permit")
        await workflow.finish_documents()
        assert workflow.view().step == "review"
        await workflow.goto(Step.DOCUMENTS)
        _show(world, TEST_CASES[2])
        await workflow.documents.capture("residence_permit")
        await workflow.goto(Step.FACE)
        await workflow.face.accept()
        assert workflow.view().step == "documents"  # not review: the new one is checked
        with pytest.raises(TransitionError) as blocked:
            await workflow.finish_documents()
        assert blocked.value.code == "document.needs_supervisor"


# ------------------------------------------------------------------------ the chip

_missing = pcsc_stack_unavailable()
chip_stack = pytest.mark.skipif(_missing is not None, reason=_missing or "")


@pytest.fixture(scope="module")
def vpcd_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    if _missing is not None:
        pytest.skip(_missing)
    with pcscd(tmp_path_factory.mktemp("pcscd")) as port:
        yield port


def _chip(lines: tuple[str, ...], signer: object, **kwargs: object) -> EmulatedPassport:
    mrz = "".join(lines)
    number = lines[1][0:9].rstrip("<")
    holder = lb.Holder(
        document_number=number, date_of_birth=lines[1][13:19], date_of_expiry=lines[1][21:27]
    )
    image, size = portrait()
    files = lb.build_chip(holder, image, size, signer, mrz_override=mrz, **kwargs)  # type: ignore[arg-type]
    from drivers.emrtd.mrz_key import MrzKeyInput

    key = MrzKeyInput(number, lines[1][13:19], lines[1][21:27])
    return EmulatedPassport(files, key.mrz_information)


@chip_stack
async def test_the_chip_is_read_authenticated_and_matched_in_the_workflow(
    tmp_path: Path, vpcd_port: int
) -> None:
    pki = make_pki()
    csca_dir = tmp_path / "csca"
    csca_dir.mkdir()
    (csca_dir / "csca.pem").write_bytes(pki.csca.certificate.public_bytes(Encoding.PEM))
    config = {
        "devices": {"document_reader": {"type": "pcsc", "allow_virtual": True}},
        "documents": {"chip": {"csca_dir": str(csca_dir), "read_timeout_s": 20}},
    }
    async with kiosk_world(tmp_path / "kiosk", central_up=False, config=config) as world:
        workflow = world.app.workflow
        await to_documents(workflow, TEST_CASES[4])
        lines = _show(world, TEST_CASES[4], kind="passport")
        await workflow.documents.capture("passport")
        await workflow.documents.settled()
        assert workflow.view().documents[0].mrz.verdict == "valid"  # type: ignore[union-attr]
        wait_reader_empty()
        link = VirtualCardLink(_chip(lines, pki.ds), ATR, port=vpcd_port, gone=CardGone)
        link.insert()
        try:
            await workflow.read_chip()
            await _wait(workflow, CHIP_TASK)
            chip = workflow.view().chip
            assert chip is not None and chip.state == "done", chip
            assert chip.pa == "passed" and chip.dg1_matches_mrz is True
            assert chip.active_auth == "passed" and chip.portrait
            assert chip.match in ("match", "no_match") and chip.threshold is not None
            record = next(c for c in workflow.capture.current if c.name == "chip.json")
            assert record.quality["chip.pa"] == "passed"
            if chip.needs_decision:  # a non-match is a supervisor's call, never silent
                with pytest.raises(TransitionError):
                    await workflow.finish_documents()
                await workflow.chip.decide(True, "ana", "sofia", "246810", "same person")
            await workflow.finish_documents()
        finally:
            link.remove()
        assert any(event == "chip.read" for event, _ in world.operations)


@chip_stack
async def test_an_altered_chip_needs_a_supervisors_decision(tmp_path: Path, vpcd_port: int) -> None:
    pki, stranger = make_pki(), make_pki()
    csca_dir = tmp_path / "csca"
    csca_dir.mkdir()
    (csca_dir / "csca.pem").write_bytes(pki.csca.certificate.public_bytes(Encoding.PEM))
    config = {
        "devices": {"document_reader": {"type": "pcsc", "allow_virtual": True}},
        "documents": {"chip": {"csca_dir": str(csca_dir), "read_timeout_s": 20}},
    }
    async with kiosk_world(tmp_path / "kiosk", central_up=False, config=config) as world:
        workflow = world.app.workflow
        await to_documents(workflow, TEST_CASES[5])
        lines = _show(world, TEST_CASES[5], kind="passport")
        await workflow.documents.capture("passport")
        await workflow.documents.settled()
        wait_reader_empty()
        card = _chip(lines, stranger.ds)  # signed by a document signer nobody trusts
        link = VirtualCardLink(card, ATR, port=vpcd_port, gone=CardGone)
        link.insert()
        try:
            await workflow.read_chip()
            await _wait(workflow, CHIP_TASK)
        finally:
            link.remove()
        chip = workflow.view().chip
        assert chip is not None and chip.pa == "failed" and chip.needs_decision
        with pytest.raises(TransitionError) as waiting:
            await workflow.finish_documents()
        assert waiting.value.code == "chip.needs_decision"
        await workflow.chip.decide(False, "ana", "sofia", "246810", "chip not trusted")
        with pytest.raises(TransitionError):
            await workflow.finish_documents()  # refused by the supervisor: no way on
        decisions = [f for e, f in world.operations if e == "chip.decision"]
        assert decisions and decisions[0]["accepted"] is False


def test_the_warm_up_reads_straightened_photos_as_real_captures_are() -> None:
    """The text detector's first inferences at a new size allocate: the warm-up reads
    each card format at the size a straightened photo has, not the raw scene's."""
    seen: list[tuple[int, ...]] = []

    class Reader:
        detector = None

        def read(self, image: ImageU8) -> None:
            seen.append(image.shape)

    from appliance.documents.perspective import rectify
    from appliance.documents.specimen_set import generate

    capture = DocumentCapture(None, None, Reader())  # type: ignore[arg-type]
    capture.warm_up()
    scenes = list(generate(seed=1, counts={"readable": 3}))
    assert sorted(seen) == sorted({rectify(case.image).image.shape for case in scenes})
    assert all(shape != scenes[0].image.shape for shape in seen)
