"""The English source of every text outreach sends on its own.

Each text is marked with ``N_`` so ``pybabel extract`` finds it; translations live in
``locales/<lang>/LC_MESSAGES/outreach.po``. Placeholders use ``{name}`` (python-brace-format) and
must appear unchanged in every translation. Reply words are placeholders too (``{stop_word}``,
``{start_word}``, ``{help_word}``), filled from the language's own keyword table when the text is
rendered, so a reply always names a word the inbound matcher accepts in that language.
Texts are written for about a 6th-grade reading level and carry no diagnosis or
medication names (minimum-necessary PHI).
"""

from __future__ import annotations

from enum import StrEnum


def N_(message: str) -> str:
    """Mark a message for extraction without translating it now (gettext_noop)."""
    return message


class SystemText(StrEnum):
    """Replies the service sends by itself, in the patient's language."""

    OPTOUT_CONFIRMATION = "optout_confirmation"
    OPTIN_CONFIRMATION = "optin_confirmation"
    HELP = "help"
    RECEIVED_ACK = "received_ack"
    URGENT_SAFETY = "urgent_safety"
    CONFIRM_ACK = "confirm_ack"
    CANCEL_ACK = "cancel_ack"
    CHECKIN_ACK = "checkin_ack"
    CHECKIN_WORSE_ACK = "checkin_worse_ack"
    PROGRAM_NAME = "program_name"  # the default program name, so a HELP answer is all in one language


class TemplateKey(StrEnum):
    """The built-in template library a clinic can launch campaigns with."""

    APPOINTMENT_REMINDER = "appointment_reminder"
    SAME_DAY_REMINDER = "same_day_reminder"
    CHECKIN_POST_VISIT = "checkin_post_visit"
    CHECKIN_MEDICATION = "checkin_medication"
    MISSED_APPOINTMENT = "missed_appointment"


SYSTEM_TEXTS: dict[SystemText, str] = {
    SystemText.PROGRAM_NAME: N_("Appointment and care texts"),
    SystemText.OPTOUT_CONFIRMATION: N_(
        "{clinic_name}: You will not get any more texts from us. Reply {start_word} to get texts again."
    ),
    SystemText.OPTIN_CONFIRMATION: N_(
        "{clinic_name}: You will get texts from us again. Reply {help_word} for help. "
        "Reply {stop_word} to stop."
    ),
    SystemText.HELP: N_(
        "{program_name} from {clinic_name}. For help, call {clinic_phone}. "
        "Up to {messages_per_month} texts a month. Msg & data rates may apply. Reply {stop_word} to stop."
    ),
    SystemText.RECEIVED_ACK: N_(
        "{clinic_name}: We got your message. A care team member will reply by {reply_by}."
    ),
    SystemText.URGENT_SAFETY: N_(
        "{clinic_name}: If this is an emergency, call {emergency_number} now. "
        "Texts are not watched all the time."
    ),
    SystemText.CONFIRM_ACK: N_(
        "{clinic_name}: Thank you. Your visit on {appointment_date} at {appointment_time} is confirmed."
    ),
    SystemText.CANCEL_ACK: N_(
        "{clinic_name}: We got your request to cancel. Someone from our team will call you "
        "to help you pick a new time."
    ),
    SystemText.CHECKIN_ACK: N_("{clinic_name}: Thank you for your answer."),
    SystemText.CHECKIN_WORSE_ACK: N_(
        "{clinic_name}: We are sorry you feel worse. Someone from our care team will call you soon. "
        "If this is an emergency, call {emergency_number}."
    ),
}

TEMPLATES: dict[TemplateKey, str] = {
    TemplateKey.APPOINTMENT_REMINDER: N_(
        "{clinic_name}: Hi {first_name}, you have a visit on {appointment_date} at {appointment_time} "
        "at {appointment_location}. Reply 1 to confirm or 2 to cancel. Questions? Call {clinic_phone}."
    ),
    TemplateKey.SAME_DAY_REMINDER: N_(
        "{clinic_name}: Hi {first_name}, we will see you today at {appointment_time} "
        "at {appointment_location}. Reply 1 to confirm or 2 to cancel."
    ),
    TemplateKey.CHECKIN_POST_VISIT: N_(
        "{clinic_name}: Hi {first_name}, how are you feeling since your visit? "
        "Reply 1 if better, 2 if the same, 3 if worse."
    ),
    TemplateKey.CHECKIN_MEDICATION: N_(
        "{clinic_name}: Hi {first_name}, are you taking your medicine the way your care team planned? "
        "Reply 1 for yes, 2 for sometimes, 3 for no or if you have problems."
    ),
    TemplateKey.MISSED_APPOINTMENT: N_(
        "{clinic_name}: Hi {first_name}, we missed you at your visit on {appointment_date}. "
        "Please call {clinic_phone} to pick a new time."
    ),
}
