"""Every catalog says who translated it and whether a native speaker reviewed it; changes are tracked."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from outreach.i18n import catalogs, provenance
from outreach.i18n.languages import CATALOG_DIRS, RTL, locales_dir
from outreach.i18n.messages import SYSTEM_TEXTS, SystemText

TRANSLATED = [language for language in CATALOG_DIRS if language != "en"]
HELP = SYSTEM_TEXTS[SystemText.HELP]


@pytest.fixture
def locales_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch copy of the catalogs that `make catalogs`-style commands may rewrite."""
    copy = tmp_path / "locales"
    shutil.copytree(locales_dir(), copy)
    monkeypatch.setenv("OUTREACH_LOCALES_DIR", str(copy))
    return copy


def test_at_least_thirty_languages_with_two_more_scripts_of_each_hard_kind() -> None:
    assert len(CATALOG_DIRS) >= 30
    assert {"ps"} <= RTL  # a fourth right-to-left language
    assert {"ja", "km", "my", "th"} <= set(CATALOG_DIRS)  # scripts written without spaces


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_catalog_header_carries_complete_provenance(language: str) -> None:
    fields = provenance.header_fields(provenance.po_path(language).read_text(encoding="utf-8"))
    assert set(provenance.FIELDS) <= set(fields), f"{language}: {fields}"
    assert provenance.problems(fields) == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_no_catalog_claims_a_review_nobody_recorded(language: str) -> None:
    # Nobody has reviewed any catalog yet: each one must say it is a draft.
    assert provenance.status(language).review_status == "draft"
    assert provenance.review_notice(language) is not None


def test_the_notice_names_the_language_in_plain_words() -> None:
    assert provenance.review_notice("so") == "Somali: draft translation, not reviewed by a native speaker"
    assert provenance.review_notice("en") is None


def test_a_catalog_without_its_fields_fails_the_check(locales_copy: Path) -> None:
    path = locales_copy / "so" / "LC_MESSAGES" / "outreach.po"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('"X-Review-Status: draft\\n"\n', ""), encoding="utf-8")
    assert any("no X-Review-Status header" in p for p in catalogs.stale())


def test_updating_catalogs_keeps_the_provenance_fields(locales_copy: Path) -> None:
    before = provenance.header_fields(
        (locales_copy / "km" / "LC_MESSAGES" / "outreach.po").read_text("utf-8")
    )
    catalogs.update()
    after = provenance.header_fields((locales_copy / "km" / "LC_MESSAGES" / "outreach.po").read_text("utf-8"))
    assert after == before
    assert catalogs.stale() == []


def test_a_review_is_recorded_and_a_later_source_change_shows_as_stale(locales_copy: Path) -> None:
    # 10 system texts (the program name among them) and 5 templates
    assert catalogs.mark_reviewed("es", by="Ana Reyes", on=date(2026, 12, 1)) == 15
    status = provenance.status("es")
    assert (status.review_status, status.reviewed_by, status.stale_messages) == ("reviewed", "Ana Reyes", 0)
    assert provenance.review_notice("es") is None
    assert provenance.is_reviewed("es", HELP)

    # The English HELP text was different when the reviewer read it: pretend so, then update.
    path = locales_copy / "es" / "LC_MESSAGES" / "outreach.po"
    text = path.read_text(encoding="utf-8")
    old = HELP.replace("Up to", "At most")
    path.write_text(text.replace("Up to", "At most", 1), "utf-8")
    catalogs.update()

    with path.open("rb") as handle:
        message = read_po(handle)[HELP]
    assert message is not None
    assert message.fuzzy
    assert str(message.string).startswith("{program_name}")  # the old translation kept for the translator
    assert (
        f"source-changed: {datetime.now(UTC).date().isoformat()} (was {provenance.source_hash(old)})"
        in message.user_comments
    )
    catalogs.update()  # a second run changes nothing more
    assert path.read_text("utf-8").count("source-changed:") == 1
    assert provenance.status("es").stale_messages == 1
    assert not provenance.is_reviewed("es", HELP)
    assert provenance.review_notice("es") == (
        "Spanish: 1 text changed since the native-speaker review on 2026-12-01"
    )
    assert any("need translating again" in p for p in catalogs.stale())


def test_a_hand_edited_source_text_in_a_reviewed_catalog_is_stale_without_any_update(
    locales_copy: Path,
) -> None:
    catalogs.mark_reviewed("vi", by="Lan Tran", on=date(2026, 12, 2))
    path = locales_copy / "vi" / "LC_MESSAGES" / "outreach.po"
    text = path.read_text(encoding="utf-8")
    marker = f"# reviewed: {provenance.source_hash(HELP)}"
    assert marker in text
    path.write_text(text.replace(marker, "# reviewed: 000000000000"), encoding="utf-8")
    assert provenance.status("vi").stale_messages == 1
