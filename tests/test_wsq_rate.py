"""WSQ is written at the FBI-specified 0.75 bpp target (500 ppi)."""

from __future__ import annotations

import cv2
import numpy as np

from appliance.finger.records import encode_wsq


def test_wsq_encoder_targets_0_75_bits_per_pixel() -> None:
    # NBIS's WSQ bit rate is a target the quantiser aims at: detail-rich input
    # lands on it, simpler images (such as synthetic prints) come out smaller.
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.integers(0, 255, (500, 400), dtype=np.uint8), (0, 0), 1.2)
    bpp = len(encode_wsq(texture)) * 8 / texture.size
    assert 0.6 <= bpp <= 0.85, bpp
