"""The reply queue and thread pages over plain HTTP: order, filters, claims, replies, tenancy, CSRF."""

from __future__ import annotations

import re
import uuid

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from outreach.clinics.models import Role
from outreach.config import Settings
from outreach.inbox.models import Thread, ThreadStatus
from outreach.messaging.models import OutboundMessage
from outreach.patients.models import Patient
from tests.factories import create_clinic, create_key, create_patient
from tests.inbox.support import text_in
from tests.web.conftest import csrf_of, demo_clinic, demo_patient, sign_in, text_patient, web_app

_ROW = re.compile(r'<tr class="(\w+)" id="row-([0-9a-f-]+)">(.*?)</tr>', re.S)
_TAGS = re.compile(r"<[^>]+>")


def _rows(page: Response) -> list[tuple[str, str]]:
    """The queue's rows, top to bottom, as (priority, visible text)."""
    return [
        (priority, " ".join(_TAGS.sub(" ", cells).split()))
        for priority, _id, cells in _ROW.findall(page.text)
    ]


def _thread_of(engine: Engine, patient_phone: str) -> Thread:
    with Session(engine) as session:
        # Numbers are stored encrypted: the thread is found in Python by the number it reads back as.
        return next(t for t in session.exec(select(Thread)) if t.from_phone == patient_phone)


def _phone(engine: Engine, external_id: str) -> str:
    with Session(engine) as session:
        return session.exec(select(Patient.phone).where(Patient.external_id == external_id)).one()


def _post(client: TestClient, thread: Thread, action: str, **fields: str) -> Response:
    page = client.get(f"/app/threads/{thread.id}")
    answer: Response = client.post(
        f"/app/threads/{thread.id}/{action}", data={"csrf_token": csrf_of(page), **fields}
    )
    return answer


def test_queue_is_urgent_first_then_longest_waiting_and_filters(
    web_client: TestClient, settings: Settings, engine: Engine
) -> None:
    seed = demo_clinic(engine)
    text_in(web_client, settings, "Where do I park?", sender=_phone(engine, "DEMO-003"))  # Wei, zh-TW
    text_in(web_client, settings, "Tôi có câu hỏi về thuốc", sender=_phone(engine, "DEMO-002"))  # Linh, vi
    text_in(web_client, settings, "I have chest pain", sender=_phone(engine, "DEMO-007"))  # James, en-US
    sign_in(web_client, seed.coordinator_key)
    rows = _rows(web_client.get("/app/queue"))
    assert [text.split(" ")[1] for _p, text in rows] == ["James", "Wei", "Linh"]
    assert rows[0][0] == "urgent"
    assert "Interpreter needed" in rows[2][1]  # the demo coordinator reads English and Spanish
    assert "Interpreter needed" not in rows[0][1]
    assert "Vietnamese" in rows[2][1]
    assert "•••0107" in rows[0][1]
    assert "+12025550107" not in web_client.get("/app/queue").text  # only the last four digits
    only = {
        "priority=urgent": ["James"],
        "language=vi": ["Linh"],
        "mine=1": ["James"],
        "status=resolved": [],
    }
    for query, names in only.items():
        found = [text.split(" ")[1] for _p, text in _rows(web_client.get(f"/app/queue?{query}"))]
        assert found == names, query
    page = web_client.get("/app/queue?language=vi")
    assert '<option value="vi" selected>Vietnamese</option>' in page.text  # the filter stays chosen
    fragment = web_client.get("/app/queue/rows?priority=urgent")
    assert [text.split(" ")[1] for _p, text in _rows(fragment)] == ["James"]
    assert "<html" not in fragment.text


def test_claimed_thread_names_its_holder_to_a_colleague(
    web_client: TestClient, settings: Settings, engine: Engine
) -> None:
    seed = demo_clinic(engine)
    text_in(web_client, settings, "Can I bring my daughter?", sender=_phone(engine, "DEMO-007"))
    thread = _thread_of(engine, _phone(engine, "DEMO-007"))
    sign_in(web_client, seed.coordinator_key)
    with TestClient(web_app(settings), base_url="http://127.0.0.1:8000") as colleague:
        sign_in(colleague, create_key(engine, seed.clinic, Role.COORDINATOR))
        stale = colleague.get(f"/app/threads/{thread.id}")  # opened before Rosa claims it
        claimed = _post(web_client, thread, "claim")
        assert "You are working on this thread now" in claimed.text
        refused = colleague.post(f"/app/threads/{thread.id}/claim", data={"csrf_token": csrf_of(stale)})
        assert refused.status_code == 409
        assert "You cannot claim this thread: Rosa (demo coordinator) holds this thread." in refused.text
        assert "Conversation" in refused.text  # the thread page itself, not an error page
        later = colleague.get(f"/app/threads/{thread.id}")
        assert "Rosa (demo coordinator) is working on this thread" in later.text
        assert 'action="/app/threads/' + str(thread.id) + '/reply"' not in later.text
        reply = colleague.post(
            f"/app/threads/{thread.id}/reply", data={"csrf_token": csrf_of(later), "body": "Yes"}
        )
        assert reply.status_code == 409
        assert "Your reply was not sent: Rosa (demo coordinator) holds this thread." in reply.text
    queue = _rows(web_client.get("/app/queue"))
    assert "Rosa (demo coordinator)" in queue[0][1]
    with Session(engine) as session:
        assert session.exec(select(OutboundMessage).where(OutboundMessage.kind == "reply")).first() is None


def test_another_clinics_thread_and_an_unknown_id_are_not_found(
    web_client: TestClient, settings: Settings, engine: Engine
) -> None:
    seed = demo_clinic(engine)
    other = create_clinic(engine, name="Elsewhere", phone="+12025550177")
    theirs = create_patient(engine, other, given_name="Secret", language="en")
    text_in(web_client, settings, "Private question", sender=theirs.phone, to=other.phone)
    thread = _thread_of(engine, theirs.phone)
    sign_in(web_client, seed.coordinator_key)
    for url in (f"/app/threads/{thread.id}", f"/app/threads/{uuid.uuid4()}"):
        page = web_client.get(url)
        assert page.status_code == 404
        assert "Thread not found" in page.text
        assert "Private question" not in page.text
    csrf = csrf_of(web_client.get("/app/queue"))
    for action in ("claim", "resolve", "note"):
        data = {"csrf_token": csrf, "outcome": "answered", "note": "x"}
        assert web_client.post(f"/app/threads/{thread.id}/{action}", data=data).status_code == 404
    preview = web_client.get(f"/app/threads/{thread.id}/preview", params={"template": "appointment_reminder"})
    assert preview.status_code == 404
    assert "Secret" not in web_client.get("/app/queue").text
    with Session(engine) as session:
        assert session.get_one(Thread, thread.id).status == ThreadStatus.OPEN


def test_actions_without_the_csrf_token_change_nothing(
    web_client: TestClient, settings: Settings, engine: Engine
) -> None:
    seed = demo_clinic(engine)
    text_in(web_client, settings, "Can I bring my daughter?", sender=_phone(engine, "DEMO-007"))
    thread = _thread_of(engine, _phone(engine, "DEMO-007"))
    sign_in(web_client, seed.coordinator_key)
    for action, fields in (("claim", {}), ("reply", {"body": "Yes"}), ("resolve", {"outcome": "answered"})):
        refused = web_client.post(
            f"/app/threads/{thread.id}/{action}", data={"csrf_token": "forged", **fields}
        )
        assert refused.status_code == 403
        assert "This form has expired" in refused.text
    with Session(engine) as session:
        assert session.get_one(Thread, thread.id).status == ThreadStatus.OPEN
        assert session.exec(select(OutboundMessage)).first() is None


def test_empty_reply_is_refused_beside_the_field(
    web_client: TestClient, settings: Settings, engine: Engine
) -> None:
    seed = demo_clinic(engine)
    text_in(web_client, settings, "Can I bring my daughter?", sender=_phone(engine, "DEMO-007"))
    thread = _thread_of(engine, _phone(engine, "DEMO-007"))
    sign_in(web_client, seed.coordinator_key)
    empty = _post(web_client, thread, "reply", body="   ", template="")
    assert empty.status_code == 422
    assert (
        '<p class="field-error" id="reply-body-error">Type a reply, or choose a saved reply.</p>'
        in empty.text
    )
    assert 'aria-invalid="true"' in empty.text
    both = _post(web_client, thread, "reply", body="Yes", template="appointment_reminder")
    assert both.status_code == 422
    assert "not both" in both.text
    assert ">Yes</textarea>" in both.text  # what was typed is kept
    no_outcome = _post(web_client, thread, "resolve", outcome="")
    assert no_outcome.status_code == 422
    assert "Choose how the thread ended." in no_outcome.text
    with Session(engine) as session:
        assert session.exec(select(OutboundMessage)).first() is None
        assert session.get_one(Thread, thread.id).status == ThreadStatus.OPEN


def test_saved_reply_preview_is_what_the_patient_gets(
    web_client: TestClient, settings: Settings, engine: Engine
) -> None:
    seed = demo_clinic(engine)
    text_in(web_client, settings, "Tôi có câu hỏi", sender=_phone(engine, "DEMO-002"))
    thread = _thread_of(engine, _phone(engine, "DEMO-002"))
    sign_in(web_client, seed.coordinator_key)
    preview = web_client.get(f"/app/threads/{thread.id}/preview", params={"template": "appointment_reminder"})
    assert 'lang="vi" dir="auto"' in preview.text
    assert "in Vietnamese" in preview.text
    assert re.search(r"\d+ segments? \((GSM-7|UCS-2)", preview.text)
    shown = re.search(r"<blockquote[^>]*>(.*?)</blockquote>", preview.text, re.S)
    assert shown
    sent = _post(web_client, thread, "reply", body="", template="appointment_reminder")
    assert "Reply on its way to the patient, in Vietnamese." in sent.text
    with Session(engine) as session:
        reply = session.exec(select(OutboundMessage).where(OutboundMessage.kind == "reply")).one()
    assert reply.language == "vi"
    assert reply.body == shown.group(1).replace("&#39;", "'")
    assert "Linh" in reply.body


def test_resolving_returns_to_the_queue_and_the_thread_leaves_it(
    web_client: TestClient, settings: Settings, engine: Engine
) -> None:
    seed = demo_clinic(engine)
    text_in(web_client, settings, "Can I bring my daughter?", sender=_phone(engine, "DEMO-007"))
    thread = _thread_of(engine, _phone(engine, "DEMO-007"))
    sign_in(web_client, seed.coordinator_key)
    noted = _post(web_client, thread, "note", note="Called back, daughter can come")
    assert "Called back, daughter can come" in noted.text
    assert _post(web_client, thread, "note", note=" ").status_code == 422
    done = _post(web_client, thread, "resolve", outcome="answered", resolve_note="told her yes")
    assert str(done.url).endswith("/app/queue")
    assert "Resolved (answered the patient)" in done.text
    assert _rows(done) == []
    assert len(_rows(web_client.get("/app/queue?status=resolved"))) == 1


def test_reply_after_opt_out_is_refused_and_the_opt_out_is_listed(
    web_client: TestClient, settings: Settings, engine: Engine
) -> None:
    seed = demo_clinic(engine)
    maria = _phone(engine, "DEMO-001")
    text_in(web_client, settings, "¿Puedo llevar a mi hija?", sender=maria)
    text_in(web_client, settings, "ALTO", sender=maria)
    thread = _thread_of(engine, maria)
    sign_in(web_client, seed.coordinator_key)
    queue = web_client.get("/app/queue")
    handled = queue.text.split("Handled automatically", 1)[1]
    assert "Maria Gonzalez" in handled
    assert "opted out of texts" in handled
    refused = _post(web_client, thread, "reply", body="Sí, claro")
    assert refused.status_code == 409
    assert "Your reply was not sent: the patient has not agreed to get texts" in refused.text
    assert ">Sí, claro</textarea>" in refused.text


def test_each_reply_shows_the_clinic_text_it_answers(
    web_client: TestClient, settings: Settings, engine: Engine
) -> None:
    seed = demo_clinic(engine)
    with Session(engine) as session:
        james = session.exec(select(Patient).where(Patient.external_id == "DEMO-007")).one()
    text_patient(engine, james.id, "Riverside: please call us about your visit")
    text_in(web_client, settings, "What do they say?", sender=james.phone)
    thread = _thread_of(engine, james.phone)
    sign_in(web_client, seed.coordinator_key)
    page = web_client.get(f"/app/threads/{thread.id}").text
    answers = page.split("Answering the clinic", 1)[1].split("What do they say?", 1)[0]
    assert "Riverside: please call us about your visit" in answers
    assert "Main St" in page  # the next visit, as context


def test_polling_without_a_session_asks_the_page_to_sign_in(web_client: TestClient) -> None:
    answer = web_client.get("/app/queue/rows?priority=urgent", headers={"X-Requested-With": "fetch"})
    assert answer.status_code == 401
    assert answer.json()["sign_in"].startswith("/app/sign-in?next=")


def test_an_admin_reads_the_queue_and_a_thread_but_cannot_act_on_it(
    web_client: TestClient, engine: Engine, settings: Settings
) -> None:
    seed = demo_clinic(engine)
    james = demo_patient(engine, seed, "DEMO-007")
    with TestClient(web_app(settings), base_url="http://127.0.0.1:8000") as webhook:
        text_in(webhook, settings, "I have chest pain", sender=james.phone)
    sign_in(web_client, seed.admin_key)
    page = web_client.get("/app/queue")
    assert page.status_code == 200
    assert "James Walker" in page.text
    thread = page.text.split('href="/app/threads/')[1].split('"')[0]
    shown = web_client.get(f"/app/threads/{thread}").text
    assert "You are reading this thread with an admin key" in shown
    assert "call 911" in shown.split("Answered automatically")[0].rsplit("<li", 1)[1]  # the emergency reply
    assert 'action="/app/threads/' not in shown  # no claim, reply, note or resolve forms
    refused = web_client.post(f"/app/threads/{thread}/claim", data={"csrf_token": csrf_of(page)})
    assert refused.status_code == 403
