"""Settling texts whose outcome we never heard (`unknown`) by asking the provider: a pipeline step.

Run by a periodic task. It owns its transactions: the provider is asked outside any transaction, and each
text's answer is applied in a short transaction of its own, so one slow lookup holds no lock. A text the
provider never saw is safe to send again; one it saw takes the provider's status. `now` is the run's one
clock reading: every text settled in a run carries it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select as core_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from outreach.db import session_scope
from outreach.messaging.models import MessageStatus, OutboundMessage, status_is
from outreach.messaging.sender import SendPolicy
from outreach.messaging.status import apply_status
from outreach.patients.models import Patient
from outreach.sms.base import GatewayError, OutboundSms, SmsGateway


def reconcile_unknown(
    *,
    engine: Engine,
    gateway: SmsGateway,
    policy: SendPolicy,
    older_than: timedelta,
    limit: int,
    now: datetime,
) -> dict[str, int]:
    """Ask the provider about texts whose outcome we never heard.

    Found: the provider's status is applied. Not found: the request never arrived, so sending again
    cannot duplicate; it is retried until `max_attempts`, then failed. This also ends the loop of a
    text that crashes its worker every time.
    """
    counts = {"found": 0, "retried": 0, "failed": 0}
    with Session(engine) as session:
        rows = session.execute(
            core_select(
                col(OutboundMessage.id),
                col(OutboundMessage.created_at),
                col(OutboundMessage.body),
                col(Patient.phone),
                col(OutboundMessage.sender_id),
            )
            .join(Patient, col(Patient.id) == OutboundMessage.patient_id)
            .where(
                status_is(MessageStatus.UNKNOWN),
                col(OutboundMessage.updated_at) < now - older_than,
            )
            .limit(limit)
        ).all()
    for message_id, created_at, body, phone, sender_id in rows:
        sms = OutboundSms(message_id=message_id, to=phone, body=body, sender_id=sender_id)
        try:
            receipt = gateway.lookup(sms, sent_after=created_at - timedelta(minutes=5))
        except GatewayError:
            continue  # the provider could not be asked now; the next run asks again
        with session_scope(engine) as session:
            if receipt is not None:
                apply_status(
                    session=session,
                    message_id=message_id,
                    provider_sid=receipt.provider_sid,
                    provider_status=receipt.status,
                    error_code=None,
                    now=now,
                )
                counts["found"] += 1
                continue
            message = session.get(OutboundMessage, message_id)
            if message is None or message.status != MessageStatus.UNKNOWN:
                continue
            retry = message.attempts < policy.max_attempts
            message.status = MessageStatus.SCHEDULED if retry else MessageStatus.FAILED
            message.send_at = now if retry else message.send_at
            message.error_reason = (
                None if retry else f"no record at the provider after {message.attempts} attempts"
            )
            message.updated_at = now
            session.add(message)
            counts["retried" if retry else "failed"] += 1
    return counts
