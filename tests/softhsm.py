"""One SoftHSM2 token per test process.

python-pkcs11 loads the module once per process and SoftHSM2 reads
``SOFTHSM2_CONF`` only at that first ``C_Initialize``: a second token made
later in another directory would never be seen. Every test that needs a token
therefore shares this one, and uses a key label of its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
TOKEN_LABEL = "kiosk"
USER_PIN = "123456"
SO_PIN = "12345678"

needs_softhsm = pytest.mark.skipif(
    not MODULE.exists() or shutil.which("softhsm2-util") is None,
    reason="SoftHSM2 is not installed (make system-deps installs it)",
)


@pytest.fixture(scope="session")
def softhsm_token(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The label of the process's one initialised token (SOFTHSM2_CONF set for the session)."""
    root = tmp_path_factory.mktemp("softhsm")
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(
        [
            *("softhsm2-util", "--init-token", "--free", "--label", TOKEN_LABEL),
            *("--pin", USER_PIN, "--so-pin", SO_PIN),
        ],
        check=True,
        capture_output=True,
    )
    return TOKEN_LABEL


def key_label(purpose: str) -> str:
    """A key label no other test on the shared token uses."""
    return f"{purpose}-{uuid.uuid4().hex[:8]}"
