"""Acting on a gap: a group's unreached patients listed, queued as call tasks, or enrolled; all audited."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach.campaigns.models import Enrollment
from outreach.clinics.models import Role
from outreach.inbox.models import Thread, ThreadEvent
from outreach.reports.models import ReportFollowUp
from tests.campaigns.support import make_campaign
from tests.factories import auth, create_clinic, create_key
from tests.reports.seed import campaign, patients, replies, texts

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _gap(engine: Engine):  # type: ignore[no-untyped-def]
    clinic = create_clinic(engine)
    en = patients(engine, clinic, 40, language="en")
    es = patients(engine, clinic, 40, language="es-MX")
    cid = campaign(engine, clinic, en + es)
    texts(engine, clinic, cid, en, status="delivered")
    reached = texts(engine, clinic, cid, es[:25], status="delivered", language="es")
    texts(engine, clinic, cid, es[25:], status="failed", error_code=30007, language="es")
    replies(engine, clinic, reached[:12], kind="confirm")
    return clinic, cid, en, es


def test_the_list_names_the_groups_unreached_patients_and_is_audited(
    client: TestClient, engine: Engine
) -> None:
    clinic, cid, _, es = _gap(engine)
    headers = auth(create_key(engine, clinic))

    listed = client.get(
        "/admin/reports/outcomes/follow-up",
        headers=headers,
        params={"campaign_id": str(cid), "by": "language", "group": "es", "stage": "not_delivered"},
    )
    unconfirmed = client.get(
        "/admin/reports/outcomes/follow-up",
        headers=headers,
        params={"campaign_id": str(cid), "by": "language", "group": "es", "stage": "not_confirmed"},
    )

    assert listed.status_code == 200
    assert {p["id"] for p in listed.json()["listed"]} == {str(p) for p in es[25:]}
    assert unconfirmed.json()["patients"] == 13  # 25 reached, 12 confirmed
    with Session(engine) as session:
        audits = session.exec(select(ReportFollowUp).order_by(col(ReportFollowUp.at))).all()
    assert [(a.action, a.group_key, a.stage, a.patients) for a in audits] == [
        ("list", "es", "not_delivered", 15),
        ("list", "es", "not_confirmed", 13),
    ]
    assert set(audits[0].patient_ids) == {str(p) for p in es[25:]}


def test_call_tasks_open_a_thread_per_patient_in_the_queue(client: TestClient, engine: Engine) -> None:
    clinic, cid, _, es = _gap(engine)
    headers = auth(create_key(engine, clinic))
    body = {
        "campaign_id": str(cid),
        "by": "language",
        "group": "es",
        "stage": "not_delivered",
        "action": "call_tasks",
    }

    done = client.post("/admin/reports/outcomes/follow-up", headers=headers, json=body)
    queue = client.get("/coordinator/threads", headers=auth(create_key(engine, clinic, Role.COORDINATOR)))

    assert done.status_code == 200, done.text
    assert (done.json()["call_tasks"], done.json()["group_label"]) == (15, "Spanish")
    with Session(engine) as session:
        threads = session.exec(select(Thread)).all()
        notes = session.exec(select(ThreadEvent.body)).all()
    assert {t.patient_id for t in threads} == set(es[25:])
    assert all(t.status == "open" for t in threads)
    assert len(notes) == 15
    assert notes[0] == "Call task from the outcome report: not reached by “Flu shots” (Spanish)."
    assert queue.status_code == 200
    assert len(queue.json()["items"]) == 15


def test_enroll_the_list_into_a_draft_campaign(client: TestClient, engine: Engine) -> None:
    clinic, cid, _, es = _gap(engine)
    headers = auth(create_key(engine, clinic))
    draft = make_campaign(
        engine,
        clinic,
        now=NOW,
        name="Second try",
        kind="broadcast",
        steps=[{"send_at": "2099-01-05T15:00:00Z", "bodies": {"en": "Please call the clinic."}}],
    )
    body = {
        "campaign_id": str(cid),
        "by": "language",
        "group": "es",
        "stage": "not_delivered",
        "action": "enroll",
        "target_campaign_id": str(draft.id),
    }

    done = client.post("/admin/reports/outcomes/follow-up", headers=headers, json=body)

    assert done.status_code == 200, done.text
    assert done.json()["enrolled"] == 15
    with Session(engine) as session:
        enrolled = session.exec(select(Enrollment.patient_id).where(Enrollment.campaign_id == draft.id)).all()
        audit = session.exec(select(ReportFollowUp)).one()
    assert set(enrolled) == set(es[25:])
    assert (audit.action, audit.target_campaign_id) == ("enroll", draft.id)


def test_another_clinics_campaign_is_not_found_and_bad_stage_is_422(
    client: TestClient, engine: Engine
) -> None:
    _, cid, _, _ = _gap(engine)
    other = auth(create_key(engine, create_clinic(engine, name="Other")))
    body = {
        "campaign_id": str(cid),
        "by": "language",
        "group": "es",
        "stage": "not_delivered",
        "action": "call_tasks",
    }

    theirs = client.post("/admin/reports/outcomes/follow-up", headers=other, json=body)
    bad = client.post("/admin/reports/outcomes/follow-up", headers=other, json={**body, "stage": "gone"})

    assert theirs.status_code == 404
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["field"] == "stage"
    with Session(engine) as session:
        assert session.exec(select(ReportFollowUp)).all() == []
