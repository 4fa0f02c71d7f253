"""Small clinics with known outcomes, written straight into the tables the report reads."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from outreach.campaigns.models import Campaign, CampaignKind, CampaignStatus, Enrollment
from outreach.clinics.models import Clinic
from outreach.db import session_scope, utcnow
from outreach.inbox.models import InboundMessage
from outreach.messaging.models import OutboundMessage
from outreach.patients.attributes import clear_columns
from outreach.patients.models import Appointment, Patient
from outreach.security.crypto import phone_columns

SENT_AT = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
_n = itertools.count(1)


def patients(engine: Engine, clinic: Clinic, count: int, *, language: str, **fields: Any) -> list[uuid.UUID]:
    """`count` consenting patients in one language (and any other fields); their ids."""
    rows = []
    for _ in range(count):
        n = next(_n)
        rows.append(
            {
                "id": uuid.uuid4(), "clinic_id": clinic.id, "external_id": f"R-{n:06d}", "given_name": "P",
                "family_name": "Q", "phone": f"+1202555{n % 10000:04d}", "language": language,
                "timezone": "America/New_York", "consent": "granted", "created_at": SENT_AT,
                "updated_at": SENT_AT, **fields,
            }
        )  # fmt: skip
    today = utcnow().date()
    for r in rows:  # what every bulk writer adds: the number's index, the clear birth year and ZIP3
        r.update(phone_columns(r["phone"]))
        r.update(clear_columns(birth_date=r.get("birth_date"), postal_code=r.get("postal_code"), today=today))
    with session_scope(engine) as session:
        session.execute(insert(Patient), rows)
    return [r["id"] for r in rows]


def campaign(
    engine: Engine, clinic: Clinic, enrolled: list[uuid.UUID], *, kind: str = "reminder"
) -> uuid.UUID:
    """A launched campaign with these patients enrolled."""
    campaign_id = uuid.uuid4()
    with session_scope(engine) as session:
        session.add(
            Campaign(
                id=campaign_id,
                clinic_id=clinic.id,
                name="Flu shots",
                kind=CampaignKind(kind),
                status=CampaignStatus.LAUNCHED,
            )
        )
        session.flush()
        if enrolled:
            rows = [{"id": uuid.uuid4(), "campaign_id": campaign_id, "patient_id": p, "created_at": SENT_AT}
                    for p in enrolled]  # fmt: skip
            session.execute(insert(Enrollment), rows)
    return campaign_id


def texts(
    engine: Engine,
    clinic: Clinic,
    campaign_id: uuid.UUID | None,
    to: list[uuid.UUID],
    *,
    status: str,
    language: str = "en",
    error_code: int | None = None,
    segments: int = 1,
    at: datetime = SENT_AT,
    error_reason: str | None = None,
) -> list[uuid.UUID]:
    """One text to each patient, in this state; their ids."""
    sent = status in ("sent", "delivered", "failed", "unknown")
    rows: list[dict[str, Any]] = [
        {
            "id": uuid.uuid4(), "clinic_id": clinic.id, "patient_id": p, "kind": "reminder",
            "campaign_id": campaign_id, "send_at": at, "status": status, "language": language,
            "body": "Reminder", "segments": segments, "encoding": "GSM-7", "attempts": 1,
            "error_code": error_code, "error_reason": error_reason, "created_at": at, "updated_at": at,
            "sent_at": at if sent else None,
        }
        for p in to
    ]  # fmt: skip
    with session_scope(engine) as session:
        session.execute(insert(OutboundMessage), rows)
    return [r["id"] for r in rows]


def replies(
    engine: Engine,
    clinic: Clinic,
    answering: list[uuid.UUID],
    *,
    kind: str,
    answer: int | None = None,
    after: timedelta = timedelta(hours=2),
) -> None:
    """A reply of this kind to each text, `after` it was sent."""
    with session_scope(engine) as session:
        found = session.exec(select(OutboundMessage).where(col(OutboundMessage.id).in_(answering)))
        sent = {m.id: (m.patient_id, m.sent_at or m.send_at) for m in found}
        rows = [
            {
                "id": uuid.uuid4(), "provider_sid": f"SM{uuid.uuid4().hex}", "clinic_id": clinic.id,
                "patient_id": sent[m][0], "from_phone": "+12025550000", "to_phone": clinic.phone, "body": "1",
                "language": "en", "kind": kind, "answer": answer, "priority": "normal",
                "received_at": sent[m][1] + after, "in_reply_to_id": m,
            }
            for m in answering
        ]  # fmt: skip
        session.execute(insert(InboundMessage), rows)


def visits(engine: Engine, clinic: Clinic, to: list[uuid.UUID], *, at: datetime) -> None:
    """A booked visit for each patient."""
    rows = [
        {"id": uuid.uuid4(), "clinic_id": clinic.id, "patient_id": p, "starts_at": at, "location": "",
         "status": "booked", "created_at": SENT_AT}
        for p in to
    ]  # fmt: skip
    with session_scope(engine) as session:
        session.execute(insert(Appointment), rows)


def update_patients(engine: Engine, ids: list[uuid.UUID], **values: Any) -> None:
    """Change these patients' columns (as a later consent change or a bounced number would)."""
    with session_scope(engine) as session:
        session.execute(update(Patient).where(col(Patient.id).in_(ids)).values(**values))


def mark_texts(engine: Engine, campaign_id: uuid.UUID, *, status: str, at: datetime = SENT_AT) -> None:
    """Move every scheduled text of a campaign to a state, as the sender and the carrier would."""
    with session_scope(engine) as session:
        session.execute(
            update(OutboundMessage)
            .where(
                col(OutboundMessage.campaign_id) == campaign_id, col(OutboundMessage.status) == "scheduled"
            )
            .values(status=status, sent_at=at)
        )
