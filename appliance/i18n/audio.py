"""Spoken prompts for the applicant, rendered at install time by espeak-ng (never at run time).

``appliance prompts render`` (run by ``make install`` and the image build) asks
Debian's ``espeak-ng`` to speak each prompt of :data:`AUDIO_KEYS` in each
applicant language, from the applicant catalogs, and stores one small WAV per
prompt (mono, G.711 mu-law, 11 025 Hz: speech stays clear, a prompt is
~30-70 kB; Chromium plays mu-law WAV)
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
import struct
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


def mu_law(samples: np.ndarray) -> bytes:
    """16-bit linear samples as G.711 mu-law bytes."""
    pcm = np.clip(samples, -32768, 32767).astype(np.int32)
    sign = (pcm < 0).astype(np.int32) << 7
    magnitude = np.minimum(np.abs(pcm), 32635) + 0x84
    exponent = np.clip(np.floor(np.log2(magnitude)).astype(np.int32) - 7, 0, 7)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    coded: bytes = (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8).tobytes()
    return coded


def _small_wav(data: bytes) -> bytes:
    """espeak-ng's 22 050 Hz 16-bit WAV as an 11 025 Hz mono mu-law WAV."""
    with wave.open(io.BytesIO(data)) as source:
        rate, frames = source.getframerate(), source.readframes(source.getnframes())
    samples = np.frombuffer(frames, dtype="<i2").astype(np.float32)
    if rate != RATE:
        samples = resample_poly(samples, RATE, rate)
    coded = mu_law(samples)
    fmt = struct.pack("<HHIIHHH", 7, 1, RATE, RATE, 1, 8, 0)  # WAVE_FORMAT_MULAW
    chunks = (
        b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"fact"
        + struct.pack("<II", 4, len(coded))
        + b"data"
        + struct.pack("<I", len(coded))
        + coded
    )
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


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
