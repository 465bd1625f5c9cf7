"""The identity document an applicant presents, simulated from the case's data.

Demos and tests need the document on the counter to belong to the person the
case names, as at a real counter: the checks compare the MRZ with the case. This
renders a SPECIMEN document (synthetic, clearly marked) for a case's name, date
of birth, nationality and document number, with a correct MRZ, for the simulated
document camera to show. Names are written in the MRZ as ICAO 9303 part 3
transliterates them; the last word of the name is taken as the surname.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import cv2

from appliance.documents.mrz_compare import spellings
from appliance.documents.specimen_data import SpecimenIdentity, write_mrz
from appliance.documents.specimen_photo import render_document
from drivers.interfaces import ImageU8
from drivers.sim.documents import document_scene

#: Document codes per kind (ICAO 9303: P passport, I identity card / residence permit).
CODES = {"passport": ("TD3", "P<"), "residence_permit": ("TD1", "IR"), "id_card": ("TD1", "ID")}


def specimen_identity(
    full_name: str,
    date_of_birth: str,  # YYYY-MM-DD, or YYYY(-MM) when the document gives no day or month
    nationality: str,
    document_number: str,
    *,
    kind: str = "residence_permit",
    issuer: str = "PRT",
    today: date | None = None,
) -> SpecimenIdentity:
    """The MRZ identity of this person's document, valid for five years from ``today``."""
    today = today or date.today()
    geometry, code = CODES.get(kind, CODES["residence_permit"])
    words = min(spellings(full_name)).split()
    surname, given = (words[-1], " ".join(words[:-1])) if len(words) > 1 else (words[0], "")
    parts = [*date_of_birth.split("-"), "01", "01"][:3]
    return SpecimenIdentity(
        kind=geometry,
        document_code=code,
        issuer=issuer,
        document_number="".join(c for c in document_number.upper() if c.isalnum())[:9],
        nationality=nationality.upper(),
        birth_date=f"{parts[0][2:]}{parts[1]:0>2}{parts[2]:0>2}",
        sex="<",
        expiry_date=(today + timedelta(days=5 * 365)).strftime("%y%m%d"),
        surname=surname,
        given_names=given,
        optional_data="",
    )


def case_identity(case: Any, today: date | None = None) -> SpecimenIdentity:
    """:func:`specimen_identity` of a case's applicant (a ``CaseAppointment``)."""
    kind = case.document_type if case.document_type in CODES else "residence_permit"
    return specimen_identity(
        case.full_name,
        case.date_of_birth,
        case.nationality,
        case.document_number,
        kind=kind,
        today=today,
    )


def presented_document(identity: SpecimenIdentity, seed: int = 0) -> ImageU8:
    """A flat SPECIMEN document (BGR) whose MRZ names this person."""
    return render_document(identity, write_mrz(identity), seed)


class SimulatedCounter:
    """The simulated applicant puts their own document under the document camera.

    Given to the composition root's operations observer: when an enrolment starts on
    a verified case, the document camera's scene file (a ``file`` camera reads it on
    every frame) is replaced, atomically, by that person's document on the counter.
    Demos and tests only; a real kiosk has a real applicant.

    The applicant does this beside the counter, not in the kiosk's software: the
    document is rendered in a thread of its own (~0.1-0.2 s of CPU), so the
    operator's "start" answers at once, as with a real applicant. A document put on
    the counter meanwhile (a test showing another one) is not replaced.
    """

    def __init__(self, scene: Path, case_of: Callable[[], Any | None]) -> None:
        self._scene = scene
        self._case_of = case_of
        self._placing: threading.Thread | None = None

    def on_operation(self, event: str, fields: dict[str, Any]) -> None:
        if event != "enrolment.started":
            return
        case = self._case_of()
        if case is None:
            return
        self.settle()  # one applicant at a time
        self._placing = threading.Thread(
            target=self._place, args=(case, _stamp(self._scene)), name="sim-counter", daemon=True
        )
        self._placing.start()

    def settle(self) -> None:
        """Wait until the last applicant's document is on the counter."""
        if self._placing is not None:
            self._placing.join()
            self._placing = None

    def _place(self, case: Any, stamp: tuple[int, int, int] | None) -> None:
        scene = document_scene(card=presented_document(case_identity(case)))
        ok, encoded = cv2.imencode(".png", scene)
        if not ok:
            return
        partial = self._scene.with_suffix(".applicant.png")  # not another writer's
        partial.write_bytes(bytes(encoded))
        if _stamp(self._scene) != stamp:  # another document was put down meanwhile
            partial.unlink(missing_ok=True)
            return
        os.replace(partial, self._scene)


def _stamp(path: Path) -> tuple[int, int, int] | None:
    """Which file is on the counter: a document put down replaces the file (new inode)."""
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    return status.st_ino, status.st_mtime_ns, status.st_size
