""" "Send the demo now": the demo's reminders go whenever the newcomer gets to them, not only at start-up."""

from __future__ import annotations

import uuid

from sqlmodel import Session

from outreach import demo
from outreach.campaigns import launch
from outreach.campaigns import service as campaigns
from outreach.clinics.models import Clinic
from outreach.db import utcnow
from outreach.errors import Conflict
from outreach.web.deps import Viewer


def send_demo_now(db: Session, viewer: Viewer, campaign_id: uuid.UUID) -> str:
    """Move the demo visits so the reminders are due in seconds, then launch the demo campaign."""
    campaign = campaigns.get_campaign(session=db, clinic_id=viewer.clinic.id, campaign_id=campaign_id)
    if not demo.is_demo_campaign(campaign):
        raise Conflict("only the demo campaign can be sent now; launch this one instead")
    now = utcnow()
    clinic = db.get_one(Clinic, viewer.clinic.id)
    first = demo.send_demo_now(session=db, clinic=clinic, campaign=campaign, now=now)
    launch.launch(session=db, clinic_id=clinic.id, campaign_id=campaign.id, now=now)
    at = first.strftime("%H:%M:%S UTC")
    return f"Sending the demo: the reminders go from {at}. Watch the phone simulator."
