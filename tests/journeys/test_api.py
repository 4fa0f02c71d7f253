"""The journeys API: events recorded, listed, corrected and deleted per patient, rules, a file import, and
another clinic's patients, events, campaigns and rules never reachable (404)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from outreach.db import utcnow
from tests.campaigns.support import make_campaign
from tests.factories import auth, create_clinic, create_key, create_patient
from tests.journeys.support import SIX_WEEKS, journeys


def _setup(engine: Engine):  # type: ignore[no-untyped-def]
    clinic = create_clinic(engine)
    campaign = make_campaign(
        engine, clinic, now=utcnow(), name="After surgery", kind="checkin", anchor_event="procedure_done",
        steps=SIX_WEEKS,
    )  # fmt: skip
    return clinic, campaign, auth(create_key(engine, clinic))


def test_events_and_rules_through_the_api(engine: Engine, client: TestClient) -> None:
    clinic, campaign, headers = _setup(engine)
    patient = create_patient(engine, clinic, timezone="America/Denver", external_id="MRN-77")
    rule = {"event_kind": "procedure_done", "visit_type": "knee replacement", "campaign_id": str(campaign.id)}
    made = client.post("/admin/journey-rules", json=rule, headers=headers)
    assert made.status_code == 201, made.text
    wrong = client.post("/admin/journey-rules", json={**rule, "event_kind": "discharged"}, headers=headers)
    assert wrong.status_code == 422
    assert "event_kind" in wrong.text

    at = (datetime.now(UTC) - timedelta(hours=3)).replace(microsecond=0)
    event = {"kind": "procedure_done", "occurred_at": at.isoformat(), "visit_type": "knee replacement"}
    recorded = client.post(f"/admin/patients/{patient.id}/events", json=event, headers=headers)
    assert recorded.status_code == 201, recorded.text
    assert (recorded.json()["recorded"], recorded.json()["journeys_started"]) == (1, 1)
    listed = client.get(f"/admin/patients/{patient.id}/events", headers=headers).json()
    assert [(e["kind"], e["visit_type"]) for e in listed] == [("procedure_done", "knee replacement")]
    shown = client.get(f"/admin/patients/{patient.id}/journeys", headers=headers).json()
    assert [(j["campaign_id"], j["status"]) for j in shown] == [(str(campaign.id), "active")]

    later = (at + timedelta(hours=1)).isoformat()
    fixed = client.patch(f"/admin/events/{listed[0]['id']}", json={"occurred_at": later}, headers=headers)
    assert fixed.status_code == 200
    assert fixed.json()["occurred_at"].startswith(later[:19])
    assert client.delete(f"/admin/events/{listed[0]['id']}", headers=headers).status_code == 204
    assert client.get(f"/admin/patients/{patient.id}/events", headers=headers).json() == []
    assert [j.end_reason for j in journeys(engine, patient.id)] == ["event_deleted"]


def test_bad_events_name_the_field(engine: Engine, client: TestClient) -> None:
    clinic, _, headers = _setup(engine)
    patient = create_patient(engine, clinic, timezone="UTC")
    path = f"/admin/patients/{patient.id}/events"
    naive = client.post(
        path, json={"kind": "discharged", "occurred_at": "2026-06-01T10:00:00"}, headers=headers
    )
    assert naive.status_code == 422
    assert "occurred_at" in naive.text
    odd = client.post(path, json={"kind": "lunch", "occurred_at": "2026-06-01T10:00:00Z"}, headers=headers)
    assert odd.status_code == 422
    assert "kind" in odd.text


def test_an_events_file_is_checked_whole_before_anything_is_recorded(
    engine: Engine, client: TestClient
) -> None:
    clinic, _, headers = _setup(engine)
    patient = create_patient(engine, clinic, timezone="UTC", external_id="MRN-1")
    good = (
        "mrn,kind,occurred_at,location\n"
        "MRN-1,discharged,2026-06-01T10:00:00Z,Ward 3\n"
        "MRN-404,discharged,2026-06-01T11:00:00Z,\n"
    )
    bad = good + "MRN-1,discharged,yesterday,\n"
    refused = client.post("/admin/events/import", files={"file": ("e.csv", bad, "text/csv")}, headers=headers)
    assert refused.status_code == 422
    assert "line 4.occurred_at" in refused.text
    assert client.get(f"/admin/patients/{patient.id}/events", headers=headers).json() == []
    done = client.post("/admin/events/import", files={"file": ("e.csv", good, "text/csv")}, headers=headers)
    assert done.status_code == 200, done.text
    assert (done.json()["recorded"], done.json()["errors"]) == (
        1,
        ["events.1: patient not found in this clinic"],
    )
    (event,) = client.get(f"/admin/patients/{patient.id}/events", headers=headers).json()
    assert (event["location"], event["source"]) == ("Ward 3", "import")


def test_another_clinics_patients_events_and_campaigns_are_not_found(
    engine: Engine, client: TestClient
) -> None:
    clinic, campaign, headers = _setup(engine)
    patient = create_patient(engine, clinic, timezone="UTC")
    event = {"kind": "procedure_done", "occurred_at": "2026-06-01T10:00:00Z"}
    mine = client.post(f"/admin/patients/{patient.id}/events", json=event, headers=headers).json()
    other = create_clinic(engine, name="Other Clinic", phone="+12025550199")
    theirs = auth(create_key(engine, other))
    assert client.post(f"/admin/patients/{patient.id}/events", json=event, headers=theirs).status_code == 404
    assert client.get(f"/admin/patients/{patient.id}/events", headers=theirs).status_code == 404
    assert client.get(f"/admin/patients/{patient.id}/journeys", headers=theirs).status_code == 404
    event_id = mine["event_ids"][0]
    patch = {"occurred_at": "2026-06-02T10:00:00Z"}
    assert client.patch(f"/admin/events/{event_id}", json=patch, headers=theirs).status_code == 404
    assert client.delete(f"/admin/events/{event_id}", headers=theirs).status_code == 404
    rule = {"event_kind": "procedure_done", "campaign_id": str(campaign.id)}
    assert client.post("/admin/journey-rules", json=rule, headers=theirs).status_code == 404
    made = client.post("/admin/journey-rules", json=rule, headers=headers).json()
    assert client.delete(f"/admin/journey-rules/{made['id']}", headers=theirs).status_code == 404
    assert client.get("/admin/journey-rules", headers=theirs).json() == []
    # an import naming another clinic's patient records nothing for it
    csv = f"patient_id,kind,occurred_at\n{patient.id},procedure_done,2026-06-03T10:00:00Z\n"
    done = client.post("/admin/events/import", files={"file": ("e.csv", csv, "text/csv")}, headers=theirs)
    assert (done.json()["recorded"], done.json()["errors"]) == (
        0,
        ["events.0: patient not found in this clinic"],
    )


def test_preview_and_dry_run_time_each_patient_from_their_own_event(
    engine: Engine, client: TestClient
) -> None:
    clinic, campaign, headers = _setup(engine)
    rule = {"event_kind": "procedure_done", "campaign_id": str(campaign.id)}
    client.post("/admin/journey-rules", json=rule, headers=headers)
    patient = create_patient(engine, clinic, timezone="Asia/Tokyo", language="en")
    path = f"/admin/campaigns/{campaign.id}/preview"
    missing = client.post(path, json={"patient_id": str(patient.id)}, headers=headers)
    assert missing.status_code == 409
    assert "procedure_done" in missing.text
    done = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)  # recorded ahead: a planned surgery
    event = {"kind": "procedure_done", "occurred_at": done.isoformat()}
    client.post(f"/admin/patients/{patient.id}/events", json=event, headers=headers)
    shown = client.post(path, json={"patient_id": str(patient.id), "step": 1}, headers=headers)
    assert shown.status_code == 200, shown.text
    assert datetime.fromisoformat(shown.json()["send_at"]) == done + timedelta(hours=48)
    timeline = client.get(f"/admin/campaigns/{campaign.id}/dry-run", headers=headers).json()
    assert timeline["scheduled"] == 7  # the 48-hour check-in and six weekly ones
    enroll = client.post(f"/admin/campaigns/{campaign.id}/enroll", json={"all": True}, headers=headers)
    assert enroll.status_code == 409
