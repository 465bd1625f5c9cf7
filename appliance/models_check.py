"""Model files checked before anything starts: production fails closed.

Each engine's model files are pinned by SHA-256 (installed by ``appliance models
fetch``). Under ``profile: production`` a missing or altered file stops the start
with a message naming it; under ``profile: demo`` the kiosk starts with the
engine's fallback and says so in the log.
"""

from __future__ import annotations

import logging

from appliance.face import models as face_models

logger = logging.getLogger(__name__)


class StartupError(RuntimeError):
    """The appliance cannot start as configured; the message says what to fix."""


def check_models(*, production: bool) -> None:
    directory = face_models.models_dir()
    problems = [
        f"{name} is {verdict}"
        for name, verdict in face_models.verify(directory).items()
        if verdict != "ok"
    ]
    if not problems:
        return
    message = (
        f"face model files in {directory}: {'; '.join(problems)} (run 'appliance models fetch')"
    )
    if production:
        raise StartupError(message)
    logger.warning("%s; demo profile: starting without the face engine", message)
