"""The UI's gettext catalogs: complete, consistent, and covering every key the code uses.

A key missing from any catalog of its domain fails here: ``applicant`` in all ten
applicant languages, ``operator`` in pt-PT and en.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from appliance import i18n
from appliance.capture.documents import DOCUMENT_KINDS
from appliance.capture.face_placeholder import PLACEHOLDER_PROMPTS
from appliance.cases import Outcome, Source
from appliance.devices import DeviceRole
from appliance.workflow.case_step import OVERRIDE_REASONS
from drivers.capture_state import STATE_MESSAGES
from drivers.interfaces import DeviceState
from packet.daylist import CASE_STATUSES, DOCUMENT_TYPES

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "appliance" / "web" / "static"
PLACEHOLDER = re.compile(r"\{(\w+)\}")

CATALOGS = [(d, code) for d in i18n.DOMAINS for code in i18n.domain_languages(d)]


def _js_sources() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(STATIC.rglob("*.js")))


def test_all_ten_languages_with_directions() -> None:
    assert [lang.code for lang in i18n.LANGUAGES] == [
        "pt-PT", "en", "hi", "ne", "bn", "uk", "ur", "fr", "es", "ar"
    ]  # fmt: skip
    assert {lang.code for lang in i18n.LANGUAGES if lang.direction == "rtl"} == {"ar", "ur"}


@pytest.mark.parametrize(("domain", "code"), CATALOGS)
def test_catalog_is_complete(domain: str, code: str) -> None:
    keys = set(i18n.template_keys(domain))
    catalog = i18n.read_catalog(i18n.po_path(domain, code))
    assert str(catalog.locale).replace("_", "-") in (code, code.split("-")[0] + "-PT", code)
    present = {str(m.id): str(m.string) for m in catalog if m.id}
    missing = sorted(keys - set(present))
    empty = sorted(k for k in keys & set(present) if not present[k].strip())
    fuzzy = sorted(str(m.id) for m in catalog if m.id and m.fuzzy)
    stale = sorted(set(present) - keys)
    assert missing == [], f"{domain}/{code} lacks {missing}"
    assert empty == [], f"{domain}/{code} has empty {empty}"
    assert fuzzy == [], f"{domain}/{code} has fuzzy {fuzzy}"
    assert stale == [], f"{domain}/{code} has keys not in the template: {stale}"


@pytest.mark.parametrize(("domain", "code"), CATALOGS)
def test_placeholders_survive_translation(domain: str, code: str) -> None:
    english = i18n.messages(domain, "en")
    for key, text in i18n.messages(domain, code).items():
        assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(english[key])), (
            f"{domain}/{code} {key}: {text!r}"
        )


def test_translations_are_not_english_copies() -> None:
    english = i18n.messages("applicant", "en")
    for code in i18n.domain_languages("applicant"):
        if code == "en":
            continue
        same = [k for k, v in i18n.messages("applicant", code).items() if v == english[k]]
        assert len(same) <= 2, f"{code} copies English for {same}"


def test_every_key_the_ui_uses_is_in_a_template() -> None:
    source = _js_sources()
    operator = set(i18n.template_keys("operator"))
    applicant = set(i18n.template_keys("applicant"))
    used_operator = set(re.findall(r"\bt\(\"([\w.]+)\"", source))
    used_applicant = set(re.findall(r"\ba\(\"([\w.]+)\"", source))
    assert used_operator and used_applicant
    assert sorted(used_operator - operator) == []
    assert sorted(used_applicant - applicant) == []


def test_keys_built_at_run_time_are_in_the_templates() -> None:
    operator = set(i18n.template_keys("operator"))
    applicant = set(i18n.template_keys("applicant"))
    families = [
        *(f"role.{r}" for r in ("operator", "supervisor", "technician")),
        *(f"step.{s}" for s in ("consent", "face", "fingerprints", "documents", "review", "done")),
        *(f"device.role.{r.value}" for r in DeviceRole),
        *(f"device.state.{s.value}" for s in DeviceState),
        *(f"slap.{k}" for k in ("slap_right_four", "slap_left_four", "slap_thumbs")),
        *(f"finger.name.{p}" for p in range(1, 11)),
        *(
            f"fingers.status.{s}"
            for s in ("pending", "capturing", "judging", "done", "skipped", "failed")
        ),
        *(f"fingers.reason.{r}" for r in ("XX", "UP")),
        *(f"document.kind.{k}" for k in DOCUMENT_KINDS),
        *(f"case.{o.value}" for o in Outcome),
        *(f"case.source.{s.value}" for s in Source),
        *(f"case.status.{s}" for s in CASE_STATUSES),
        *(f"case.document.{d}" for d in DOCUMENT_TYPES),
        *(f"case.reason.{r}" for r in OVERRIDE_REASONS),
    ]
    assert sorted(set(families) - operator) == []
    paragraphs = ("intro", "controller", "purpose", "data", "legal_basis", "retention")
    feedback = ("place_finger", "clean_sensor", "press_harder", "center_finger", "too_dry")
    applicant_families = [
        *(f"consent.{p}" for p in (*paragraphs, "rights", "contact")),
        *(f"finger.instruction.{k}" for k in ("slap_right_four", "slap_left_four", "slap_thumbs")),
        *STATE_MESSAGES.values(),
        *PLACEHOLDER_PROMPTS,
        *(f"finger.{f}" for f in (*feedback, "too_wet")),
    ]
    assert sorted(set(applicant_families) - applicant) == []


def test_face_engine_prompts_are_translated() -> None:
    guidance = pytest.importorskip("appliance.face.guidance")
    applicant = set(i18n.template_keys("applicant"))
    assert sorted(set(guidance.PROMPTS) - applicant) == []


def test_error_codes_the_server_sends_are_in_the_operator_template() -> None:
    operator = set(i18n.template_keys("operator"))
    codes: set[str] = set()
    for path in [
        *(ROOT / "appliance" / "workflow").glob("*.py"),
        *(ROOT / "appliance" / "capture").glob("*.py"),
        *(ROOT / "appliance" / "web").glob("*.py"),
        ROOT / "appliance" / "accounts" / "store.py",
    ]:
        text = path.read_text(encoding="utf-8")
        codes |= set(re.findall(r"(?:TransitionError|CaptureError)\(\s*\"([\w.]+)\"", text))
        codes |= set(re.findall(r"ApiError\(\s*\d+,\s*\"([\w.]+)\"", text))
        codes |= set(re.findall(r"code = \"([\w.]+)\"", text))
        codes |= set(re.findall(r"\"error\": \"([\w.]+)\"", text))
    codes -= {"no_metrics", "no_outbox", "session_not_found", "position_required", "encode_failed"}
    assert len(codes) > 20
    assert sorted(codes - operator) == []


def test_bundles_served_to_the_ui() -> None:
    arabic = i18n.bundle("ar")
    assert arabic["dir"] == "rtl" and arabic["name"] == "العربية"
    assert arabic["applicant"]["consent.agree"] == "نعم، أوافق"  # type: ignore[index]
    assert i18n.operator_bundle("hi")["code"] == "pt-PT"  # operators use pt-PT or en
    assert i18n.operator_bundle("en")["operator"]["nav.lock"] == "Lock"  # type: ignore[index]
