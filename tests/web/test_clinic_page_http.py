"""The Clinic page: the id to mint keys with, staffed hours and the program name per language."""

from __future__ import annotations

from datetime import time

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from outreach.clinics.models import Clinic
from tests.factories import create_clinic, create_key
from tests.web.conftest import csrf_of, sign_in


def test_the_clinic_page_shows_the_id_and_saves_hours_and_names(
    web_client: TestClient, engine: Engine
) -> None:
    clinic = create_clinic(engine, name="Harbor Health")
    sign_in(web_client, create_key(engine, clinic))
    page = web_client.get("/app/admin/clinic")
    assert f"outreach create-key --clinic {clinic.id} --role coordinator" in page.text
    assert 'placeholder="Mensajes de citas y atención"' in page.text  # the default's Spanish translation
    form = {
        "csrf_token": csrf_of(page), "staffed_start": "08:30", "staffed_end": "17:00",
        "day_1": "1", "day_3": "1", "program_so": "Fariimaha Harbor",
    }  # fmt: skip
    assert web_client.post("/app/admin/clinic", data=form, follow_redirects=False).status_code == 303
    with Session(engine) as session:
        saved = session.get_one(Clinic, clinic.id)
    assert (saved.staffed_start, saved.staffed_end, saved.staffed_days) == (time(8, 30), time(17, 0), "13")
    assert saved.program_names == {"so": "Fariimaha Harbor"}
    backwards = form | {"staffed_start": "18:00", "csrf_token": csrf_of(web_client.get("/app/admin/clinic"))}
    refused = web_client.post("/app/admin/clinic", data=backwards)
    assert refused.status_code == 422
    assert "staffed_end" in refused.text
    with Session(engine) as session:
        assert session.get_one(Clinic, clinic.id).staffed_start == time(8, 30)  # nothing half-written
