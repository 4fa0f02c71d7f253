"""Property tests (hypothesis) for the timing rules and the validators at the edge: whatever zone, date,
quiet-hours window or text, the documented promises hold. Seeded and bounded, so a run takes seconds and a
failure reproduces."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

import phonenumbers
from hypothesis import HealthCheck, assume, example, given, seed, settings
from hypothesis import strategies as st

from outreach.campaigns.timing import QuietHours, plan_send
from outreach.i18n.segments import count_segments
from outreach.patients.validation import FieldError, normalize_phone
from outreach.security.phi import compile_terms, normalize

ZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))
BOUNDED = settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
NOW = datetime(2026, 1, 1, tzinfo=UTC)

moments = st.datetimes(min_value=datetime(2026, 1, 2), max_value=datetime(2026, 12, 28)).map(
    lambda d: d.replace(tzinfo=UTC, microsecond=0)
)
clock = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
windows = st.tuples(clock, clock).filter(lambda w: w[0] != w[1]).map(lambda w: QuietHours(*w))


def _quiet_at(moment: datetime, tz: str, quiet: QuietHours) -> bool:
    return quiet.contains(moment.astimezone(ZoneInfo(tz)).time())


@seed(20261203)
@BOUNDED
@given(target=moments, tz=st.sampled_from(ZONES), quiet=windows)
@example(
    target=datetime(2026, 3, 8, 7, 30, tzinfo=UTC), tz="America/New_York", quiet=QuietHours(time(21), time(8))
)
@example(
    target=datetime(2026, 11, 1, 5, 30, tzinfo=UTC), tz="America/New_York", quiet=QuietHours(time(1), time(2))
)
@example(
    target=datetime(2026, 4, 4, 15, 0, tzinfo=UTC),
    tz="Australia/Lord_Howe",
    quiet=QuietHours(time(1), time(3)),
)
def test_a_check_in_is_never_sent_in_quiet_hours_and_only_ever_moves_later(
    target: datetime, tz: str, quiet: QuietHours
) -> None:
    planned = plan_send(target=target, tz=tz, quiet=quiet, now=NOW, not_after=None)
    assert planned.send_at is not None
    assert planned.send_at >= target
    assert not _quiet_at(planned.send_at, tz, quiet)
    assert planned.moved == (planned.send_at != target)


@seed(20261203)
@BOUNDED
@given(
    visit=moments,
    lead=st.integers(15, 30 * 24 * 60).map(lambda m: timedelta(minutes=m)),
    tz=st.sampled_from(ZONES),
    quiet=windows,
)
@example(
    visit=datetime(2026, 3, 8, 12, 0, tzinfo=UTC),
    lead=timedelta(hours=6),
    tz="America/New_York",
    quiet=QuietHours(time(21), time(8)),
)
def test_a_reminder_is_never_in_quiet_hours_never_after_its_visit_and_prefers_earlier(
    visit: datetime, lead: timedelta, tz: str, quiet: QuietHours
) -> None:
    target = visit - lead
    assume(target >= NOW)
    planned = plan_send(target=target, tz=tz, quiet=quiet, now=NOW, not_after=visit)
    if planned.send_at is None:
        assert planned.reason_code == "no_allowed_time"
        return
    assert NOW <= planned.send_at < visit
    assert not _quiet_at(planned.send_at, tz, quiet)
    if not _quiet_at(target, tz, quiet):
        assert planned.send_at == target
    elif planned.send_at > target:  # documented: earlier first, 15 min before the quiet hours began
        began = target
        while _quiet_at(began - timedelta(minutes=1), tz, quiet):
            began -= timedelta(minutes=1)
        earlier = began - timedelta(minutes=15)
        assert earlier < NOW or _quiet_at(earlier, tz, quiet)


GSM_BASIC = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .,:!?", max_size=2000
)
UCS2_BMP = st.text(alphabet="абвгдеёжзийклмнопрстуфхцчшщъыьэюяЖ", min_size=1, max_size=2000)


@seed(20261203)
@BOUNDED
@given(text=GSM_BASIC)
def test_plain_gsm_text_is_one_part_up_to_160_then_153_per_part(text: str) -> None:
    counted = count_segments(text)
    assert counted.encoding == "GSM-7"
    assert counted.segments == (1 if len(text) <= 160 else -(-len(text) // 153))


@seed(20261203)
@BOUNDED
@given(text=UCS2_BMP)
def test_cyrillic_text_is_one_part_up_to_70_then_67_per_part(text: str) -> None:
    counted = count_segments(text)
    assert counted.encoding == "UCS-2"
    assert counted.segments == (1 if len(text) <= 70 else -(-len(text) // 67))


@seed(20261203)
@BOUNDED
@given(
    national=st.integers(200, 999).flatmap(
        lambda area: st.integers(2_000_000, 9_999_999).map(lambda n: f"{area}{n}")
    ),
    style=st.sampled_from(["{n}", "+1{n}", "1-{a}-{b}-{c}", "({a}) {b}-{c}", " {a}.{b}.{c} "]),
)
def test_a_us_number_normalizes_to_one_e164_form_whatever_its_punctuation(national: str, style: str) -> None:
    raw = style.format(n=national, a=national[:3], b=national[3:6], c=national[6:])
    try:
        e164 = normalize_phone(raw, default_region="US")
    except FieldError as refused:
        field = refused.field
    else:
        assert e164 == f"+1{national}"
        assert normalize_phone(e164, default_region="FR") == e164  # E.164 reads the same from any region
        return
    assert field == "phone"
    assert not phonenumbers.is_valid_number(phonenumbers.parse(f"+1{national}"))


@seed(20261203)
@BOUNDED
@given(text=st.text(max_size=200))
def test_the_phone_validator_refuses_or_returns_e164_and_never_raises_anything_else(text: str) -> None:
    try:
        e164 = normalize_phone(text, default_region="US")
    except FieldError as refused:
        field = refused.field
    else:
        assert re.fullmatch(r"\+[1-9]\d{6,14}", e164)
        return
    assert field == "phone"


words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12)


@seed(20261203)
@BOUNDED
@given(
    before=st.lists(words, max_size=5),
    after=st.lists(words, max_size=5),
    term=st.sampled_from(["hiv", "test result", "mental health", "chlamydia", "methadone"]),
    upper=st.booleans(),
)
def test_a_listed_term_is_found_wherever_it_stands_and_in_any_case(
    before: list[str], after: list[str], term: str, upper: bool
) -> None:
    terms = compile_terms(["hiv", "test result*", "mental health", "chlamydia", "methadone"])
    spoken = term.upper() if upper else term
    text = " ".join([*before, spoken, *after]) + "."
    assert terms.first_match(text) is not None
    assert normalize(normalize(text)) == normalize(text)


@seed(20261203)
@BOUNDED
@given(word=words)
def test_a_term_inside_another_word_is_not_a_match(word: str) -> None:
    terms = compile_terms(["hiv"])
    assume("hiv" not in word)
    assert terms.first_match(f"{word}hiv{word}") is None  # "archive" is not "hiv"
