"""Spoken prompts for the applicant, rendered at install time by espeak-ng (never at run time).

``appliance prompts render`` (run by ``make install`` and the image build) asks
Debian's ``espeak-ng`` to speak each prompt of :data:`AUDIO_KEYS` in each
applicant language, from the applicant catalogs, and stores one small WAV per
prompt (mono, 16-bit, 11 025 Hz: speech stays clear, a prompt is ~40-80 kB)
under ``<prefix>/share/appliance/prompts/<language>/<key>.wav`` (or
``$APPLIANCE_PROMPTS_DIR``). The generated files are not committed: they are
reproducible from the catalogs. Audio is optional: without the files the UI
simply offers no sound.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from appliance import i18n

AUDIO_KEYS = (
    "welcome.text",
    "consent.question",
    "face.instructions",
    "finger.instruction.slap_right_four",
    "finger.instruction.slap_left_four",
    "finger.instruction.slap_thumbs",
    "document.instruction",
    "receipt.keep",
)
#: Applicant language -> espeak-ng voice (European Portuguese is espeak-ng's "pt").
VOICES = {
    "pt-PT": "pt",
    "en": "en",
    "hi": "hi",
    "ne": "ne",
    "bn": "bn",
    "uk": "uk",
    "ur": "ur",
    "fr": "fr",
    "es": "es",
    "ar": "ar",
}
RATE = 11025
WORDS_PER_MINUTE = 145
MAX_WAV_BYTES = 2 << 20
_NAME = re.compile(r"^[a-z0-9_.]+$")


class PromptError(Exception):
    """Rendering failed (the message names what is missing)."""


def prompts_dir() -> Path:
    override = os.environ.get("APPLIANCE_PROMPTS_DIR")
    if override:
        return Path(override)
    return Path(sys.prefix) / "share" / "appliance" / "prompts"


def prompt_path(directory: Path, code: str, key: str) -> Path | None:
    """The file of one prompt, or None for an unknown language or key."""
    if code not in VOICES or key not in AUDIO_KEYS or not _NAME.match(key):
        return None
    return directory / code / f"{key}.wav"


def available(directory: Path) -> dict[str, list[str]]:
    """Language -> the prompts present (what the UI may offer)."""
    found: dict[str, list[str]] = {}
    for code in VOICES:
        keys = [k for k in AUDIO_KEYS if (directory / code / f"{k}.wav").is_file()]
        if keys:
            found[code] = keys
    return found


def _speak(espeak: str, voice: str, text: str) -> bytes:
    result = subprocess.run(
        [espeak, "-v", voice, "-s", str(WORDS_PER_MINUTE), "--stdout", "--stdin"],
        input=text.encode(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0 or len(result.stdout) > MAX_WAV_BYTES:
        raise PromptError(f"espeak-ng failed for voice {voice}: {result.stderr.decode()[:200]}")
    return result.stdout


def _small_wav(data: bytes) -> bytes:
    """espeak-ng's 22 050 Hz WAV as 11 025 Hz mono 16-bit."""
    with wave.open(io.BytesIO(data)) as source:
        rate, frames = source.getframerate(), source.readframes(source.getnframes())
    samples = np.frombuffer(frames, dtype="<i2").astype(np.float32)
    if rate != RATE:
        samples = resample_poly(samples, RATE, rate)
    pcm = np.clip(samples, -32768, 32767).astype("<i2").tobytes()
    out = io.BytesIO()
    with wave.open(out, "wb") as target:
        target.setnchannels(1)
        target.setsampwidth(2)
        target.setframerate(RATE)
        target.writeframes(pcm)
    return out.getvalue()


def render(directory: Path, languages: tuple[str, ...] = tuple(VOICES)) -> int:
    """Render every prompt of ``languages`` into ``directory``; returns the file count."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise PromptError("espeak-ng is not installed (Debian package espeak-ng)")
    count = 0
    for code in languages:
        messages = i18n.messages("applicant", code)
        target = directory / code
        target.mkdir(parents=True, exist_ok=True)
        for key in AUDIO_KEYS:
            wav = _small_wav(_speak(espeak, VOICES[code], messages[key]))
            tmp = target / f".{key}.tmp"
            tmp.write_bytes(wav)
            os.replace(tmp, target / f"{key}.wav")
            count += 1
    return count
