"""Which clinic owns the number an inbound text was sent to: the condition `inbox` LOOKUP filters on.

A clinic owns a number through its sender rows: the number itself, or the Messaging Service Twilio names
in the webhook, on the account that signed it (`accounts.MAIN` for the deployment's own). A deployment
that registered no senders keeps today's rule, the clinic whose `phone` is the number, but only when
exactly one clinic has that phone and no sender row claims the number. Anything else finds no clinic:
the text is stored as unmatched and answered with nothing, never routed to a guess.
"""

from __future__ import annotations

from sqlalchemy import String, and_, bindparam, case, exists, func, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from outreach.clinics.models import Clinic
from outreach.senders.models import Sender

TO = bindparam("to_phone", type_=String)
SERVICE = bindparam("messaging_service_sid", type_=String)
ACCOUNT = bindparam("account", type_=String)

_by_number = col(Sender.phone_number) == TO
_writes_to = or_(_by_number, and_(SERVICE != "", col(Sender.messaging_service_sid) == SERVICE))
# The sender row the text was written to on the signing account; a number match wins over a service's.
_OWNER = (
    select(col(Sender.clinic_id))
    .where(_writes_to, func.coalesce(col(Sender.account_sid), "") == ACCOUNT)
    .order_by(case((_by_number, 0), else_=1))
    .limit(1)
    .scalar_subquery()
)
_other = aliased(Clinic)
_LEGACY = and_(
    ACCOUNT == "",
    col(Clinic.phone) == TO,
    ~exists(select(col(Sender.id)).where(_writes_to)),
    ~exists(select(col(_other.id)).where(col(_other.phone) == TO, col(_other.id) != Clinic.id)),
)


def owns_number() -> ColumnElement[bool]:
    """True for the one clinic that owns the number written to (for LOOKUP's WHERE)."""
    return or_(col(Clinic.id) == _OWNER, _LEGACY)
