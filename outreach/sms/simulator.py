"""The simulator gateway: texts land on simulated phones stored in the outreach database."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from outreach.sms.base import GatewayReceipt, OutboundSms
from outreach.sms.models import SimulatedSms


class SimulatorGateway:
    """Delivers instantly to a simulated phone; used by the embedded default and the demo."""

    name = "simulator"

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def send(self, sms: OutboundSms) -> GatewayReceipt:
        """Store the text on the simulated phone and return a Twilio-shaped SID."""
        sid = "SM" + secrets.token_hex(16)
        with Session(self._engine) as session:
            session.add(SimulatedSms(provider_sid=sid, message_id=sms.message_id, to=sms.to, body=sms.body))
            session.commit()
        return GatewayReceipt(provider_sid=sid, status="delivered")

    def lookup(self, sms: OutboundSms, *, sent_after: datetime) -> GatewayReceipt | None:
        """The simulated phone's copy of a text, if it arrived."""
        with Session(self._engine) as session:
            row = session.exec(
                select(SimulatedSms).where(
                    SimulatedSms.message_id == sms.message_id, SimulatedSms.created_at >= sent_after
                )
            ).first()
        return None if row is None else GatewayReceipt(provider_sid=row.provider_sid, status="delivered")
