"""Identity documents: the machine-readable zone (ICAO Doc 9303 parts 3-7).

Pure functions on images and records, no devices and no HTTP: find the MRZ band
in a photo (:mod:`.mrz_locate`), read it with an OCR restricted to the MRZ
alphabet (:mod:`.mrz_ocr`), parse and validate TD1/TD2/TD3 and MRV-A/B with
their check digits, dates and country codes (:mod:`.mrz_parse`), compare the
result with the case (:mod:`.mrz_compare`) and guide the operator frame by
frame (:mod:`.mrz_guidance`). :mod:`.mrz_reader` is the one entry point that
chains them; :mod:`.mrz_models` fetches and verifies the OCR model files.
"""
