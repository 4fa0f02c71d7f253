"""Rendering texts in a patient's language: catalogs, placeholders, dates and times, segments.

Everything expensive (catalogs, Babel locales, date patterns, parsed templates) is cached per process,
so rendering a text is a dictionary lookup, a few cached date formats and one `str.format_map`.
"""

from __future__ import annotations

import gettext
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time
from babel.support import Translations

from outreach.i18n.keywords import reply_words
from outreach.i18n.languages import CATALOG_DIRS, RTL, locales_dir, negotiate
from outreach.i18n.messages import SYSTEM_TEXTS, TEMPLATES, SystemText, TemplateKey
from outreach.i18n.segments import Segments, count_segments

DOMAIN = "outreach"
ALLOWED_PLACEHOLDERS = frozenset(
    {
        "first_name",
        "clinic_name",
        "clinic_phone",
        "appointment_date",
        "appointment_time",
        "appointment_location",
    }
)
_DATE_FIELDS: dict[str, Literal["date", "time", "datetime"]] = {
    "appointment_date": "date",
    "appointment_time": "time",
    "reply_by": "datetime",
}
# Values that are Latin-script names or numbers; inside right-to-left text they are isolated
# (U+2068 … U+2069) so a phone number or clinic name is not reordered by the bidi algorithm.
_ISOLATED = frozenset(
    {"clinic_name", "clinic_phone", "emergency_number", "appointment_location", "program_name"}
)
_FSI, _PDI = "\u2068", "\u2069"
_PLAIN_SPACES = str.maketrans({"\u202f": " ", "\u00a0": " ", "\u2009": " "})
_NATIVE_DIGITS = {
    "arab": "٠١٢٣٤٥٦٧٨٩", "arabext": "۰۱۲۳۴۵۶۷۸۹", "beng": "০১২৩৪৫৬৭৮৯", "deva": "०१२३४५६७८९",
    "mymr": "၀၁၂၃၄၅၆၇၈၉", "khmr": "០១២៣៤៥៦៧៨៩", "laoo": "໐໑໒໓໔໕໖໗໘໙", "thai": "๐๑๒๓๔๕๖๗๘๙",
    "guru": "੦੧੨੩੪੫੬੭੮੯", "gujr": "૦૧૨૩૪૫૬૭૮૯",
}  # fmt: skip
# CLDR's Haitian Creole data carries French day and month names; these are the Kreyòl ones.
_HT_DAYS = ("lendi", "madi", "mèkredi", "jedi", "vandredi", "samdi", "dimanch")
_HT_MONTHS = (
    "janvye",
    "fevriye",
    "mas",
    "avril",
    "me",
    "jen",
    "jiyè",
    "out",
    "septanm",
    "oktòb",
    "novanm",
    "desanm",
)


_BUILTIN: dict[str, str] = {str(k): v for k, v in [*TEMPLATES.items(), *SYSTEM_TEXTS.items()]}


class MissingPlaceholder(KeyError):
    """A text needs a value the caller did not give."""

    def __init__(self, placeholder: str, language: str) -> None:
        super().__init__(f"placeholder '{placeholder}' has no value (language {language})")
        self.placeholder = placeholder
        self.language = language

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownTemplate(LookupError):
    """No built-in template or system text has this name."""


@dataclass(frozen=True, slots=True)
class Rendered:
    """A text ready to send, the language it is in, and what it costs."""

    body: str
    language: str
    segments: Segments
    fell_back: bool


@lru_cache(maxsize=64)
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalog for a supported language (English is the source text itself)."""
    if language == "en":
        return gettext.NullTranslations()
    folder = CATALOG_DIRS[language]
    loaded = Translations.load(str(locales_dir()), [folder], domain=DOMAIN)
    if not isinstance(loaded, Translations):
        raise FileNotFoundError(
            f"no compiled catalog for {language} in {locales_dir()}; run `make catalogs` (or `make install`)"
        )
    return loaded


@lru_cache(maxsize=64)
def babel_locale(language: str) -> Locale:
    """The Babel locale used for dates and times in a catalog's language."""
    return Locale.parse({"tl": "fil", "zh-Hans": "zh_Hans", "zh-Hant": "zh_Hant"}.get(language, language))


@lru_cache(maxsize=64)
def _date_pattern(language: str) -> str:
    """Weekday, day and month without the year, e.g. Spanish "EEEE, d 'de' MMMM"."""
    skeletons = babel_locale(language).datetime_skeletons
    pattern = str(skeletons.get("MMMMEd") or skeletons.get("MMMEd") or "EEEE d MMMM")
    out, i = [], 0
    while i < len(pattern):  # widen E/ccc to the full weekday and MMM/LLL to the full month
        char = pattern[i]
        run = len(pattern[i:]) - len(pattern[i:].lstrip(char)) if char.isalpha() else 1
        if char == "'":
            end = pattern.index("'", i + 1) + 1
            out.append(pattern[i:end])
            i = end
            continue
        if (char in "Ec" and run <= 3) or (char in "ML" and run == 3):
            out.append(char * 4)
        else:
            out.append(pattern[i : i + run])
        i += run
    return "".join(out)


def _native_digits(language: str, text: str) -> str:
    system = babel_locale(language).default_numbering_system
    digits = _NATIVE_DIGITS.get(system)
    return text.translate(str.maketrans("0123456789", digits)) if digits else text


@lru_cache(maxsize=512)
def _zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


@lru_cache(maxsize=8192)
def _local_date(day: date, language: str) -> str:
    if language == "ht":
        return f"{_HT_DAYS[day.weekday()]} {day.day} {_HT_MONTHS[day.month - 1]}"
    return _clean(language, format_date(day, _date_pattern(language), locale=babel_locale(language)))


@lru_cache(maxsize=8192)
def _local_time(hour: int, minute: int, language: str) -> str:
    return _clean(language, format_time(time(hour, minute), "short", locale=babel_locale(language)))


def _clean(language: str, text: str) -> str:
    # CLDR puts no-break spaces in "2:30 PM"; one such character makes a whole text UCS-2 (3x the cost).
    return _native_digits(language, text.translate(_PLAIN_SPACES))


def format_datetime_local(
    dt: datetime, *, language: str, tz: str, part: Literal["date", "time", "datetime"]
) -> str:
    """A date, time or both in the patient's language and time zone (digits as CLDR gives them).

    Cached on the local calendar day and the local hour and minute, so a clinic's appointment grid
    formats once per language however many patients share a slot.
    """
    if dt.tzinfo is None:
        raise ValueError("datetimes given to a text must be aware")
    local = dt.astimezone(_zone(tz))
    if part == "date":
        return _local_date(local.date(), language)
    if part == "time":
        return _local_time(local.hour, local.minute, language)
    comma = "، " if language in RTL else ", "
    return f"{_local_date(local.date(), language)}{comma}{_local_time(local.hour, local.minute, language)}"


@lru_cache(maxsize=4096)
def placeholders(text: str) -> frozenset[str]:
    """The placeholder names a text uses."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(text) if name)


def _values(text: str, *, language: str, values: Mapping[str, object], tz: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in placeholders(text):
        if name not in values or values[name] is None:
            raise MissingPlaceholder(name, language)
        value = values[name]
        if isinstance(value, datetime):
            shown = format_datetime_local(
                value, language=language, tz=tz, part=_DATE_FIELDS.get(name, "datetime")
            )
        else:
            shown = str(value)
        out[name] = f"{_FSI}{shown}{_PDI}" if language in RTL and name in _ISOLATED else shown
    return out


def render_text(text: str, *, language: str, values: Mapping[str, object], tz: str = "UTC") -> Rendered:
    """Fill a text (a clinic's own, or a translated template) for one patient."""
    body = text.format_map(_values(text, language=language, values=values, tz=tz))
    return Rendered(body=body, language=language, segments=count_segments(body), fell_back=False)


def template_text(key: TemplateKey | SystemText | str, language: str) -> str:
    """The translated text of a built-in template or system message, placeholders intact."""
    source = _BUILTIN.get(str(key))
    if source is None:
        raise UnknownTemplate(f"no built-in text named '{key}'")
    return translations(language).gettext(source)


def _render_builtin(
    key: TemplateKey | SystemText | str,
    *,
    tag: str | None,
    clinic_default: str,
    values: Mapping[str, object],
    tz: str,
) -> Rendered:
    chosen = negotiate(tag, clinic_default=clinic_default)
    # Reply words come from the language's keyword table, never from the caller or the translator.
    values = {**values, **reply_words(chosen.language)}
    rendered = render_text(
        template_text(key, chosen.language), language=chosen.language, values=values, tz=tz
    )
    return Rendered(rendered.body, rendered.language, rendered.segments, fell_back=chosen.fell_back)


def render_template(
    key: TemplateKey | str,
    *,
    tag: str | None,
    clinic_default: str = "en",
    values: Mapping[str, object],
    tz: str = "UTC",
) -> Rendered:
    """A built-in campaign template in the patient's negotiated language."""
    return _render_builtin(key, tag=tag, clinic_default=clinic_default, values=values, tz=tz)


def render_system(
    key: SystemText | str,
    *,
    tag: str | None,
    clinic_default: str = "en",
    values: Mapping[str, object],
    tz: str = "UTC",
) -> Rendered:
    """A reply outreach sends by itself (STOP confirmation, HELP, ...) in the patient's language."""
    return _render_builtin(key, tag=tag, clinic_default=clinic_default, values=values, tz=tz)
