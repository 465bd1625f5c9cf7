"""Fingerprint pipeline: NFIQ 2 quality with actionable feedback, and slap segmentation."""
