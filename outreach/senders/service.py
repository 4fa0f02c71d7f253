"""Managing a clinic's senders: add, change, remove, and name one for a campaign."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from outreach.campaigns.models import Campaign
from outreach.config import Settings
from outreach.errors import Conflict, Invalid
from outreach.messaging.models import MessageStatus, OutboundMessage
from outreach.messaging.pacing import default_rate
from outreach.senders import secrets
from outreach.senders.models import Sender, SenderType
from outreach.senders.schemas import SenderCreate, SenderPublic, SenderUpdate
from outreach.tenancy import get_owned

E164 = re.compile(r"^\+[1-9]\d{7,14}$")
SHORT_CODE = re.compile(r"^\d{5,6}$")  # US short codes
MESSAGING_SERVICE_SID = re.compile(r"^MG[0-9a-f]{32}$")
ACCOUNT_SID = re.compile(r"^AC[0-9a-f]{32}$")
AUTH_TOKEN = re.compile(r"^[0-9a-f]{32}$")
MIN_RATE = 0.1
# The most a carrier grants one sender of each type in the US, in segments per second (Twilio's
# guidance: 10DLC tops out at 75 on one number, toll-free at 150 once raised, short codes at 500).
MAX_RATES = {SenderType.LONG_CODE: 75.0, SenderType.TOLL_FREE: 150.0, SenderType.SHORT_CODE: 500.0}
# Texts that still need their sender: not yet sent, or sent with an answer still to be settled.
WAITING = (
    MessageStatus.SCHEDULED,
    MessageStatus.QUEUED,
    MessageStatus.HELD,
    MessageStatus.SENDING,
    MessageStatus.UNKNOWN,
)


def public(sender: Sender) -> SenderPublic:
    """The sender as the API shows it (no token)."""
    return SenderPublic(
        id=sender.id,
        label=sender.label,
        phone_number=sender.phone_number,
        messaging_service_sid=sender.messaging_service_sid,
        sender_type=sender.sender_type,
        rate_per_s=sender.rate_per_s,
        account_sid=sender.account_sid,
        has_credentials=sender.auth_token_encrypted is not None,
        is_default=sender.is_default,
        created_at=sender.created_at,
    )


def _check_rate(rate: float, sender_type: SenderType) -> float:
    ceiling = MAX_RATES[sender_type]
    if not MIN_RATE <= rate <= ceiling:
        raise Invalid(
            "rate_per_s",
            f"must be between {MIN_RATE} and {ceiling:g} segments per second "
            f"for a {sender_type.value} sender",
        )
    return float(rate)


def _check_address(data: SenderCreate) -> tuple[str | None, str | None]:
    number = (data.phone_number or "").strip() or None
    service = (data.messaging_service_sid or "").strip() or None
    if (number is None) == (service is None):
        raise Invalid("phone_number", "give exactly one of phone_number or messaging_service_sid")
    if number is not None:
        if data.sender_type == SenderType.SHORT_CODE and not SHORT_CODE.match(number):
            raise Invalid("phone_number", "a short code is 5 or 6 digits, for example 12345")
        if data.sender_type != SenderType.SHORT_CODE and not E164.match(number):
            raise Invalid("phone_number", "must be in E.164 form: + then country code and number")
    if service is not None and not MESSAGING_SERVICE_SID.match(service):
        raise Invalid("messaging_service_sid", "must be MG followed by 32 lowercase hex characters")
    return number, service


def _check_credentials(data: SenderCreate) -> tuple[str | None, str | None]:
    account = (data.account_sid or "").strip() or None
    token = data.auth_token.get_secret_value().strip() if data.auth_token else None
    if account is None and token is None:
        return None, None
    if account is None:
        raise Invalid("account_sid", "is required with auth_token (the subaccount the token belongs to)")
    if not ACCOUNT_SID.match(account):
        raise Invalid("account_sid", "must be AC followed by 32 lowercase hex characters")
    if not token or not AUTH_TOKEN.match(token):
        raise Invalid("auth_token", "must be the subaccount's auth token: 32 lowercase hex characters")
    return account, token


def _taken(session: Session, number: str | None, service: str | None) -> bool:
    clash = col(Sender.phone_number) == number if number else col(Sender.messaging_service_sid) == service
    return session.exec(select(func.count()).select_from(Sender).where(clash)).one() > 0


def _make_default(session: Session, sender: Sender) -> None:
    session.execute(
        update(Sender)
        .where(col(Sender.clinic_id) == sender.clinic_id, col(Sender.id) != sender.id)
        .values(is_default=False)
    )
    sender.is_default = True


def create_sender(
    *, session: Session, settings: Settings, clinic_id: uuid.UUID, data: SenderCreate, now: datetime
) -> Sender:
    """Add a sender to the clinic; the clinic's first sender becomes its default."""
    number, service = _check_address(data)
    rate = _check_rate(data.rate_per_s or default_rate(data.sender_type.value), data.sender_type)
    account, token = _check_credentials(data)
    if _taken(session, number, service):
        field = "phone_number" if number else "messaging_service_sid"
        raise Conflict(f"{field}: already a sender of a clinic (a number belongs to one clinic only)")
    sender = Sender(
        clinic_id=clinic_id,
        label=data.label.strip(),
        phone_number=number,
        messaging_service_sid=service,
        sender_type=data.sender_type,
        rate_per_s=rate,
        account_sid=account,
        auth_token_encrypted=secrets.encrypt(settings, token) if token else None,
        created_at=now,
        updated_at=now,
    )
    first = not list_senders(session=session, clinic_id=clinic_id)
    session.add(sender)
    session.flush()
    if data.is_default or first:
        _make_default(session, sender)
    session.add(sender)
    session.flush()
    return sender


def list_senders(*, session: Session, clinic_id: uuid.UUID) -> list[Sender]:
    """The clinic's senders, default first."""
    query = select(Sender).where(Sender.clinic_id == clinic_id)
    return list(session.exec(query.order_by(col(Sender.is_default).desc(), col(Sender.created_at))))


def get_sender(*, session: Session, clinic_id: uuid.UUID, sender_id: uuid.UUID) -> Sender:
    """One of the clinic's senders (another clinic's is not found)."""
    return get_owned(session, Sender, sender_id, clinic_id=clinic_id, name="sender")


def update_sender(
    *, session: Session, clinic_id: uuid.UUID, sender_id: uuid.UUID, data: SenderUpdate, now: datetime
) -> Sender:
    """Change a sender's label, rate or whether it is the clinic's default."""
    sender = get_sender(session=session, clinic_id=clinic_id, sender_id=sender_id)
    if data.rate_per_s is not None:
        sender.rate_per_s = _check_rate(data.rate_per_s, SenderType(sender.sender_type))
    if data.label is not None:
        sender.label = data.label.strip()
    if data.is_default:
        _make_default(session, sender)
    elif data.is_default is False:
        sender.is_default = False
    sender.updated_at = now
    session.add(sender)
    session.flush()
    return sender


def texts_using(*, session: Session, sender_id: uuid.UUID) -> int:
    """Texts that still need this sender: recorded on them, or named by their campaign."""
    naming = select(Campaign.id).where(col(Campaign.sender_id) == sender_id)
    uses = or_(
        col(OutboundMessage.sender_id) == sender_id,
        col(OutboundMessage.sender_id).is_(None) & col(OutboundMessage.campaign_id).in_(naming),
    )
    query = select(func.count()).select_from(OutboundMessage).where(col(OutboundMessage.status).in_(WAITING))
    return int(session.exec(query.where(uses)).one())


def delete_sender(*, session: Session, clinic_id: uuid.UUID, sender_id: uuid.UUID) -> None:
    """Remove a sender no waiting text needs; campaigns that named it fall back to the clinic's default."""
    sender = get_sender(session=session, clinic_id=clinic_id, sender_id=sender_id)
    waiting = texts_using(session=session, sender_id=sender_id)
    if waiting:
        raise Conflict(
            f"sender: {waiting} texts not yet sent or settled still use it; cancel or send them first"
        )
    session.execute(update(Campaign).where(col(Campaign.sender_id) == sender_id).values(sender_id=None))
    session.delete(sender)
    session.flush()


def set_campaign_sender(
    *, session: Session, clinic_id: uuid.UUID, campaign_id: uuid.UUID, sender_id: uuid.UUID | None
) -> Campaign:
    """Name the sender a campaign's texts go out from (None: the clinic's default)."""
    campaign = get_owned(session, Campaign, campaign_id, clinic_id=clinic_id, name="campaign")
    if sender_id is not None:
        get_sender(session=session, clinic_id=clinic_id, sender_id=sender_id)
    campaign.sender_id = sender_id
    session.add(campaign)
    session.flush()
    return campaign
