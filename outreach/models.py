"""Every table, imported in one place so metadata (and Alembic) sees them all."""

from __future__ import annotations

from sqlmodel import SQLModel

from outreach.campaigns import models as campaign_models  # noqa: F401  (registers campaign tables)
from outreach.clinics.models import ApiKey, Clinic
from outreach.fhir import models as fhir_models  # noqa: F401  (registers FHIR tables)
from outreach.inbox import models as inbox_models  # noqa: F401  (registers inbox tables)
from outreach.journeys import models as journey_models  # noqa: F401  (registers journey tables)
from outreach.library import models as library_models  # noqa: F401  (registers the template library)
from outreach.messaging.models import OutboundMessage
from outreach.patients.models import Appointment, ConsentEvent, Patient
from outreach.reports import models as report_models  # noqa: F401  (registers the follow-up audit)
from outreach.security import models as security_models  # noqa: F401  (registers security tables)
from outreach.senders.models import Sender
from outreach.sms.models import SimulatedSms

metadata = SQLModel.metadata

__all__ = [
    "ApiKey",
    "Appointment",
    "Clinic",
    "ConsentEvent",
    "OutboundMessage",
    "Patient",
    "Sender",
    "SimulatedSms",
    "metadata",
]
