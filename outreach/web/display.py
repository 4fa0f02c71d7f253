"""How values read on a page: language names, text direction, times and masked phone numbers."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError

from outreach.db import utcnow
from outreach.i18n import RTL, is_valid_tag, negotiate


@lru_cache(maxsize=512)
def language_name(tag: str | None) -> str:
    """A language tag as people say it ("es-MX" → "Spanish (Mexico)"); unknown tags stay as written."""
    if not tag or tag == "und" or not is_valid_tag(tag):
        return "Unknown language" if not tag or tag == "und" else tag
    try:
        return str(Locale.parse(tag, sep="-").get_display_name("en"))
    except (UnknownLocaleError, ValueError):
        return tag


@lru_cache(maxsize=512)
def text_dir(tag: str | None) -> str:
    """`rtl` for Arabic, Urdu and Persian texts; `auto` lets the browser decide for everything else."""
    if not tag or tag == "und" or not is_valid_tag(tag):
        return "auto"
    return "rtl" if negotiate(tag, clinic_default="en").language in RTL else "auto"


@lru_cache(maxsize=512)
def text_lang(tag: str | None) -> str:
    """The language outreach texts a patient in (their tag's catalog, else English), for `lang=`."""
    return negotiate(tag if tag and is_valid_tag(tag) else None, clinic_default="en").language


def when(value: datetime | None) -> str:
    """A UTC timestamp, short and unambiguous."""
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def local(value: datetime | None, tz: str | None) -> str:
    """A moment in the patient's own time zone ("Thu 12 Mar 2026, 16:30 (America/Chicago)")."""
    if value is None:
        return "—"
    try:
        zone = ZoneInfo(tz or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return when(value)
    return value.astimezone(zone).strftime("%a %d %b %Y, %H:%M") + f" ({zone.key})"


def ago(value: datetime | None, now: datetime | None = None) -> str:
    """How long ago, as a coordinator reads a waiting time ("4 min", "2 h 5 min", "3 d")."""
    if value is None:
        return "—"
    seconds = max(0, int(((now or utcnow()) - value).total_seconds()))
    if seconds < 60:
        return "just now"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 24 * 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes // (24 * 60)} d"


def offset(minutes: int) -> str:
    """A reminder step's offset as a person says it ("24 h before the visit", "1 h 30 min after")."""
    hours, rest = divmod(abs(minutes), 60)
    amount = " ".join(part for part in (f"{hours} h" if hours else "", f"{rest} min" if rest else "") if part)
    return f"{amount or '0 min'} {'before' if minutes < 0 else 'after'} the visit"


def masked_phone(phone: str | None) -> str:
    """Only the last four digits: enough to tell patients apart on a list (minimum necessary)."""
    if not phone:
        return "—"
    return "•••" + phone[-4:]
