"""Every figure of the outcome report, defined once: the API, the CSV header, the page and the README
read these definitions, and a reader can recompute each figure from the outbox with them.

Scope: a campaign (its enrolled patients and its texts), or a clinic over a date range (every text
whose send time falls in [from, to), campaign or one-off, and the patients who had one).
A patient counts once per group. For `language_used` and `fallback`, which belong to texts rather
than patients, a patient counts once in each group of texts they were sent.

Journeys (`JOURNEY_COUNTS`): a journey is one patient's check-in series timed from one of their events
(`outreach/journeys/`). Scope: the campaign's journeys, or the clinic's journeys that started in
[from, to). A journey counts once, in its patient's group; for `language_used` and `fallback` (which
belong to texts) journeys are grouped by the patient's language instead. Suppressed like every count.
"""

from __future__ import annotations

from dataclasses import dataclass

# Twilio error codes grouped by what a clinic can do about them.
FAILURE_GROUPS: dict[str, tuple[int, ...]] = {
    "invalid_or_landline": (21211, 21214, 21612, 21614, 30006),
    "carrier_filtered": (30004, 30007, 30032, 30034, 30035),
    "unreachable": (30003, 30005),
    "opted_out_at_carrier": (21610,),
}
FAILURE_OTHER = "other"


@dataclass(frozen=True, slots=True)
class Figure:
    """One figure: its column name, a short label and what it counts."""

    name: str
    label: str
    definition: str


_PATIENT_COUNTS = [
    Figure("targeted", "Targeted", "patients enrolled in the campaign (clinic scope: patients with a text)"),
    Figure("excluded", "Excluded", "targeted patients the campaign planned no text for"),
    Figure(
        "excluded_consent", "Excluded: no consent", "excluded; consent is not granted (revoked or unknown)"
    ),
    Figure("excluded_undeliverable", "Excluded: number cannot get texts", "excluded; number undeliverable"),
    Figure(
        "excluded_no_visit",
        "Excluded: no upcoming visit",
        "excluded; consent granted and number good (reminders: no upcoming visit at launch)",
    ),
    Figure("held", "Held", "no text sent; a text was held because the campaign has none in their language"),
    Figure(
        "skipped", "Skipped", "no text sent, none held; a text was skipped (quiet hours left no time, past)"
    ),
    Figure("waiting", "Waiting or cancelled", "planned, but no text sent yet, or its texts were cancelled"),
    Figure("sent", "Sent", "patients with at least one text handed to the carrier (sent, delivered, failed)"),
    Figure(
        "delivered",
        "Delivered",
        "patients with at least one text the carrier reported delivered, or that they answered",
    ),
    Figure("not_delivered", "Sent, not delivered", "sent minus delivered: every text failed or is unknown"),
    Figure("replied", "Replied", "delivered patients who texted back within the reply window of a text"),
    Figure("confirmed", "Confirmed", "reminders: delivered patients who replied to confirm the visit"),
    Figure("cancel_requested", "Asked to cancel", "reminders: delivered, asked to cancel, did not confirm"),
    Figure(
        "no_answer", "No answer", "reminders: delivered patients who neither confirmed nor asked to cancel"
    ),
    Figure("answered_1", "Check-in: 1", "check-ins: delivered patients whose answer was 1"),
    Figure("answered_2", "Check-in: 2", "check-ins: delivered patients whose answer was 2"),
    Figure("answered_3_worse", "Check-in: 3 (worse)", "check-ins: delivered patients who answered 3, worse"),
    Figure("opted_out", "Opted out", "delivered patients who texted STOP within the reply window of a text"),
]
_TEXT_COUNTS = [
    Figure("texts_sent", "Texts sent", "texts handed to the carrier"),
    Figure("texts_delivered", "Texts delivered", "texts the carrier reported delivered, or answered"),
    Figure("texts_fallback", "Texts in a fallback language", "texts sent not in the patient's own language"),
    Figure("texts_failed", "Texts failed", "texts the carrier or Twilio reported failed"),
    Figure(
        "failed_invalid_or_landline",
        "Failed: invalid or landline",
        "Twilio 21211, 21214, 21612, 21614, 30006",
    ),
    Figure("failed_carrier_filtered", "Failed: carrier filtered", "Twilio 30004, 30007, 30032, 30034, 30035"),
    Figure("failed_unreachable", "Failed: unreachable", "Twilio 30003, 30005"),
    Figure("failed_opted_out_at_carrier", "Failed: opted out at carrier", "Twilio 21610"),
    Figure("failed_other", "Failed: other", "any other error, or none recorded"),
    Figure("segments", "Segments", "SMS segments of the texts sent (what the carrier bills)"),
]
COUNTS: tuple[Figure, ...] = (*_PATIENT_COUNTS, *_TEXT_COUNTS)
JOURNEY_COUNTS: tuple[Figure, ...] = (
    Figure(
        "journeys",
        "Journeys",
        "journeys started: one per patient event a rule enrolled the patient for",
    ),
    Figure("journeys_answered", "Answered", "journeys whose patient texted at least once after it started"),
    Figure(
        "journeys_worse",
        "Answered worse",
        "journeys whose patient answered a check-in 3 (worse) after it started",
    ),
    Figure(
        "journeys_no_reply",
        "No reply",
        "journeys that put a call task in the queue for no reply to the campaign's N check-ins in a row",
    ),
    Figure(
        "journeys_ended_early",
        "Ended early",
        "journeys ended before their series was over: opt-out, readmission, a coordinator, a deleted event",
    ),
)
JOURNEY_COUNT_NAMES: tuple[str, ...] = tuple(f.name for f in JOURNEY_COUNTS)
COUNT_NAMES: tuple[str, ...] = tuple(f.name for f in COUNTS)

# Counts that add up to another shown count: complementary suppression protects each of these sums.
PARTITIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("targeted", ("excluded", "held", "skipped", "waiting", "sent")),
    ("excluded", ("excluded_consent", "excluded_undeliverable", "excluded_no_visit")),
    ("sent", ("delivered", "not_delivered")),
    ("delivered", ("confirmed", "cancel_requested", "no_answer")),
    (
        "texts_failed",
        tuple(f"failed_{g}" for g in (*FAILURE_GROUPS, FAILURE_OTHER)),
    ),
)


@dataclass(frozen=True, slots=True)
class RateFigure:
    """A rate: numerator over denominator, with its Wilson interval; `flagged` rates get the flag rule."""

    name: str
    label: str
    numerator: str
    denominator: str
    flagged: bool
    kinds: tuple[str, ...] = ("reminder", "checkin", "broadcast", "all")


RATES: tuple[RateFigure, ...] = (
    RateFigure("reached", "Reached (delivered of targeted)", "delivered", "targeted", flagged=True),
    RateFigure("delivery", "Delivered of sent", "delivered", "sent", flagged=True),
    RateFigure("replied", "Replied of delivered", "replied", "delivered", flagged=True),
    RateFigure(
        "confirmed", "Confirmed of delivered", "confirmed", "delivered", flagged=True, kinds=("reminder",)
    ),
    RateFigure("opted_out", "Opted out of delivered", "opted_out", "delivered", flagged=False),
    RateFigure("fallback", "Texts in a fallback language", "texts_fallback", "texts_sent", flagged=False),
)

JOURNEY_RATES: tuple[RateFigure, ...] = (
    RateFigure("journeys_answered", "Answered (of journeys)", "journeys_answered", "journeys", flagged=True),
    RateFigure("journeys_no_reply", "No reply (of journeys)", "journeys_no_reply", "journeys", flagged=False),
)

DIMENSIONS: dict[str, str] = {
    "language": "the patient's preferred language, as a language (es-MX and es-US are Spanish)",
    "language_used": "the language the text went out in",
    "fallback": "native: the text was in the patient's own language; fallback: it was not",
    "interpreter": "recorded interpreter need, else derived: the patient's language is not one the "
    "clinic's coordinators read",
    "age_band": "the age reached in the report's year (its year minus the birth year; birthdays later in "
    "the year count already): 0-17, 18-44, 45-64, 65+",
    "sex": "administrative sex (FHIR AdministrativeGender)",
    "race": "OMB race category; patients with more than one are 'multiple'",
    "ethnicity": "OMB ethnicity",
    "postal3": "the first three digits of the recorded ZIP code",
}

COST = Figure(
    "estimated_cost",
    "Estimated spend (USD)",
    "segments × the clinic's cost per segment; per patient: ÷ targeted",
)
