"""Model files checked before anything starts: production fails closed.

Each engine's model files are pinned by SHA-256 (installed by ``appliance models
fetch``): the face engine's and the MRZ reader's always, the face matcher's when
the kiosk has a document reader (that one is loaded, and refused the same way,
when the chip checks start). Under ``profile: production`` a missing or altered
file stops the start with a message naming it; under ``profile: demo`` the kiosk
starts with the engine's fallback and says so in the log.
"""

from __future__ import annotations

import logging

from appliance.documents import mrz_models
from appliance.face import models as face_models

logger = logging.getLogger(__name__)


class StartupError(RuntimeError):
    """The appliance cannot start as configured; the message says what to fix."""


def check_models(*, production: bool) -> None:
    directory = face_models.models_dir()
    verdicts = face_models.verify(directory) | mrz_models.verify(directory)
    problems = [f"{name} is {verdict}" for name, verdict in verdicts.items() if verdict != "ok"]
    if not problems:
        return
    message = f"model files in {directory}: {'; '.join(problems)} (run 'appliance models fetch')"
    if production:
        raise StartupError(message)
    logger.warning("%s; demo profile: starting without those engines", message)
