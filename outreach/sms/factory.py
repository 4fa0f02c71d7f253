"""Choose the gateway the settings ask for."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from outreach.config import Settings
from outreach.sms.base import SmsGateway
from outreach.sms.simulator import SimulatorGateway


def build_gateway(*, settings: Settings, engine: Engine) -> SmsGateway:
    """The simulator on the embedded default, Twilio when configured."""
    if settings.gateway == "simulator":
        return SimulatorGateway(engine)
    # The Twilio SDK is a slow import, loaded only when Twilio is configured.
    from outreach.sms.twilio import TwilioGateway  # noqa: PLC0415

    gateway: SmsGateway = TwilioGateway(
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token.get_secret_value(),
        messaging_service_sid=settings.twilio_messaging_service_sid or None,
        from_number=settings.twilio_from_number or None,
        api_base_url=settings.twilio_api_base_url or None,
        validity_period_s=settings.twilio_validity_period_s,
    )
    return gateway
