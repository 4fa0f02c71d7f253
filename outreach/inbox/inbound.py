"""Handling a patient's reply on a session: store it once, act on keywords now, route the rest.

A pipeline, not a domain service: the webhook's transaction is the promise. One inbound text is three
steps: `LOOKUP` reads, in one query, the clinic owning the number, the patient texting it, the text of ours
they most likely answer and their next visit; `inbound_plan.plan` decides, without the database, what it
means and what to write; the writes then run in the caller's transaction. This module runs those steps on
a SQLAlchemy session (SQLite, and changes of consent everywhere); on PostgreSQL the webhook runs them in
batches on its own connections (`receiver`).

Opt-outs take effect inside the webhook's own transaction, so a STOP that is acknowledged has already
cancelled every unsent text. A replayed MessageSid is caught by the unique index when the text is
stored: the whole transaction rolls back and the replay gets no second effect.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from outreach.inbox.inbound_plan import IncomingSms, Plan, Received, plan
from outreach.inbox.inbound_sql import LOOKUP, STORE, Write, lookup_params, sender_of, writes
from outreach.patients.models import ConsentStatus, Patient
from outreach.patients.service import opt_out, record_consent
from outreach.senders.stop_scope import stop_across_organisation


class DuplicateInbound(Exception):
    """A concurrent delivery of the same inbound SID."""


def apply(connection: Connection, planned: list[Write]) -> None:
    """Run a text's writes on a SQLAlchemy connection, inside the caller's transaction."""
    dialect = connection.dialect.name
    for write in planned:
        try:
            connection.execute(write.for_dialect(dialect), write.params)
        except IntegrityError as exc:
            if write.statement is STORE:  # the same SID arrived twice at once; the first one wins
                raise DuplicateInbound(write.params["m_sid"]) from exc
            raise


def change_consent(*, session: Session, decided: Plan, now: datetime, stop_scope: str = "clinic") -> None:
    """A STOP or START from the patient, through the patients service (ledger, unsent texts cancelled)."""
    if decided.consent is None:
        return
    patient = session.get(Patient, decided.patient_id)
    assert patient is not None  # LOOKUP found them; patients are never deleted
    if decided.consent == ConsentStatus.REVOKED:
        opt_out(session=session, patient=patient, source="patient replied STOP", now=now)
        stop_across_organisation(session=session, patient=patient, scope=stop_scope, now=now)
    else:
        record_consent(
            session=session, patient=patient, status=decided.consent, source="patient replied START", now=now
        )


def receive(*, session: Session, sms: IncomingSms, now: datetime, stop_scope: str = "clinic") -> Received:
    """Store, act on and route one inbound text inside the session's transaction (the caller commits)."""
    connection = session.connection()
    found = connection.execute(LOOKUP, lookup_params(sms, now)).first()
    decided = plan(sms=sms, sender=sender_of(found), now=now)
    apply(connection, writes(decided))
    change_consent(session=session, decided=decided, now=now, stop_scope=stop_scope)
    return decided.received
