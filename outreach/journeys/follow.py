"""Follow-through on running journeys (the `outreach.journeys` beat task): safe to run twice.

* A patient who cannot be texted any more (STOP, undeliverable number) ends their journeys (their unsent
  texts were already cancelled by the opt-out; no window writes more for them).
* No answer to N check-ins in a row (the campaign's `no_reply_after`) puts a call task in the coordinator
  queue: the patient's thread opened (or raised) at high priority with a note "No reply to 2 check-ins
  since discharge on 3 Dec 2026". A check-in counts once it has been out `GRACE` without an answer; any
  text from the patient after a check-in answers it. One call task per silent streak: the journey
  remembers when it raised one, and only a reply after that starts a new streak.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import func, insert, not_, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from outreach.campaigns.enrollment import can_text
from outreach.campaigns.models import Campaign
from outreach.campaigns.timing import zone
from outreach.db import session_scope
from outreach.inbox.inbound_plan import ThreadTouch
from outreach.inbox.models import InboundKind, InboundMessage, Priority, Thread, ThreadEvent
from outreach.inbox.threads import REOPENED, UPSERT, thread_params
from outreach.inbox.triage import Triage
from outreach.journeys import series
from outreach.journeys.enroll import end_journeys
from outreach.journeys.models import EndReason, Journey, JourneyAudit, JourneyStatus, PatientEvent
from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.patients.models import Patient

GRACE = timedelta(hours=24)  # how long a check-in waits for an answer before it counts as unanswered
_SENT = (MessageStatus.SENT, MessageStatus.DELIVERED)
_SINCE = {
    "discharged": "discharge",
    "procedure_done": "the procedure",
    "first_visit": "the first visit",
    "visit_fulfilled": "the visit",
}


def stop_opted_out(session: Session, now: datetime) -> int:
    """End the running journeys of patients who can no longer be texted; return how many."""
    query = (
        select(col(Journey.id))
        .join(Patient, col(Patient.id) == col(Journey.patient_id))
        .where(col(Journey.status) == JourneyStatus.ACTIVE, not_(can_text()))
    )
    ids = list(session.execute(query).scalars())
    return end_journeys(session, ids, reason=EndReason.OPTED_OUT.value, now=now)


def _candidates(session: Session) -> list[tuple[uuid.UUID, uuid.UUID, int, datetime | None]]:
    """(journey, patient, N, escalated at) of running journeys whose campaign escalates silence."""
    query = (
        select(
            col(Journey.id), col(Journey.patient_id), col(Campaign.no_reply_after), col(Journey.escalated_at)
        )
        .join(Campaign, col(Campaign.id) == col(Journey.campaign_id))
        .where(col(Journey.status) == JourneyStatus.ACTIVE, col(Campaign.no_reply_after).is_not(None))
    )
    return [(row[0], row[1], int(row[2]), row[3]) for row in session.execute(query)]


def silent(session: Session, now: datetime) -> list[tuple[uuid.UUID, int]]:
    """Journeys whose last N check-ins all went unanswered and were not escalated yet: (journey, N)."""
    candidates = _candidates(session)
    if not candidates:
        return []
    journeys = [c[0] for c in candidates]
    sent_at = func.coalesce(col(OutboundMessage.sent_at), col(OutboundMessage.send_at))
    sends: dict[uuid.UUID, list[datetime]] = defaultdict(list)
    for jid, at in session.execute(
        select(col(OutboundMessage.journey_id), sent_at).where(
            series.among(session, col(OutboundMessage.journey_id), journeys),
            col(OutboundMessage.status).in_(_SENT),
        )
    ):
        sends[jid].append(at)
    patients = sorted({c[1] for c in candidates})
    replied = dict(
        session.execute(
            select(col(InboundMessage.patient_id), func.max(col(InboundMessage.received_at)))
            .where(series.among(session, col(InboundMessage.patient_id), patients))
            .group_by(col(InboundMessage.patient_id))
        ).all()
    )
    found = []
    for jid, pid, needed, escalated in candidates:
        last_reply = replied.get(pid)
        since = max((t for t in (last_reply, escalated) if t is not None), default=None)
        unanswered = [t for t in sends[jid] if (since is None or t > since) and t <= now - GRACE]
        if len(unanswered) >= needed:
            found.append((jid, needed))
    return found


def _note(kind: str, visit_type: str | None, occurred_at: datetime, tz: str, needed: int) -> str:
    """The call task's note, for the team (in the clinic's working language)."""
    what = _SINCE.get(kind) or (visit_type or "the event")
    day = occurred_at.astimezone(zone(tz)).strftime("%-d %b %Y")
    return f"No reply to {needed} check-ins in a row since {what} on {day}: call the patient."


def escalate(session: Session, journey_id: uuid.UUID, needed: int, now: datetime) -> None:
    """Put a call task for a silent journey in the coordinator queue (the patient's thread, high priority)."""
    journey = session.get_one(Journey, journey_id)
    patient = session.get_one(Patient, journey.patient_id)
    event = session.get_one(PatientEvent, journey.event_id)
    values = thread_params(
        ThreadTouch(
            clinic_id=journey.clinic_id,
            patient_id=patient.id,
            phone=patient.phone,
            language=patient.language,
            triage=Triage(InboundKind.NO_REPLY, priority=Priority.HIGH),
            campaign_id=journey.campaign_id,
            at=now,
        )
    )
    dialect = session.get_bind().dialect.name
    session.execute(UPSERT[dialect], values)
    session.execute(REOPENED, values)
    thread_id = session.execute(
        select(col(Thread.id)).where(
            col(Thread.clinic_id) == journey.clinic_id, col(Thread.party) == values["t_party"]
        )
    ).scalar_one()
    note = _note(str(event.kind), event.visit_type, event.occurred_at, patient.timezone, needed)
    session.execute(
        insert(ThreadEvent).values(
            id=uuid.uuid4(),
            clinic_id=journey.clinic_id,
            thread_id=thread_id,
            kind="call_task",
            body=note,
            at=now,
        )
    )
    session.execute(update(Journey).where(col(Journey.id) == journey.id).values(escalated_at=now))
    session.add(JourneyAudit(clinic_id=journey.clinic_id, journey_id=journey.id, action="escalated", at=now))
    session.flush()


def run(*, engine: Engine, now: datetime) -> dict[str, int]:
    """One pass of the follow-through; return how many journeys it ended and escalated."""
    with session_scope(engine) as session:
        ended = stop_opted_out(session, now)
    escalated = 0
    with session_scope(engine) as session:
        for journey_id, needed in silent(session, now):
            escalate(session, journey_id, needed, now)
            escalated += 1
    return {"ended": ended, "escalated": escalated}
