"""JSON log lines, with personal data masked."""

from __future__ import annotations

import json
import logging

from appliance.logging_setup import JsonFormatter, redact


def test_json_lines_mask_personal_data() -> None:
    record = logging.LogRecord(
        "appliance.x",
        logging.INFO,
        __file__,
        1,
        "case %s from %s tel %s",
        ("AIMA-2026-000123", "a.b@example.pt", "912345678"),
        None,
    )
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "INFO" and line["logger"] == "appliance.x"
    assert "AIMA-2026-000123" not in line["message"]
    assert "example.pt" not in line["message"] and "912345678" not in line["message"]
    assert redact("device dev-0001 ready") == "device dev-0001 ready"
