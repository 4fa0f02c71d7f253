"""Patients in the web app: found by name, MRN or the last digits of the phone; one patient's page with
every text both ways, including what outreach answered by itself; adding, changing, importing."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from outreach.config import Settings
from outreach.patients.models import ConsentStatus, Patient
from tests.factories import create_clinic, create_key, create_patient
from tests.inbox.support import CLINIC_PHONE, sent_text, text_in
from tests.web.conftest import csrf_of, sign_in


def _names(page: str) -> list[str]:
    rows = page.split("<tbody>")[1].split("</tbody>", maxsplit=1)[0].split("<tr>")[1:]
    return [row.split('">', 2)[2].split("</a>")[0] for row in rows if "</a>" in row]


def test_search_by_name_mrn_and_last_digits_of_the_phone(web_client: TestClient, engine: Engine) -> None:
    clinic = create_clinic(engine)
    create_patient(
        engine, clinic, external_id="A-100", given_name="Maria", family_name="Gonzalez", phone="+12025550101"
    )
    create_patient(
        engine, clinic, external_id="A-200", given_name="Mariam", family_name="Hassan", phone="+12025550177"
    )
    create_patient(
        engine, clinic, external_id="B-300", given_name="Linh", family_name="Nguyen", phone="+12025550307"
    )
    other = create_clinic(engine, name="Elsewhere", phone="+12025550999")
    create_patient(
        engine, other, external_id="A-100", given_name="Maria", family_name="Other", phone="+12025550102"
    )
    sign_in(web_client, create_key(engine, clinic))

    def found(query: str) -> list[str]:
        return _names(web_client.get("/app/admin/patients", params={"q": query}).text)

    assert found("maria") == ["Maria Gonzalez", "Mariam Hassan"]  # never another clinic's Maria
    assert found("maria gon") == ["Maria Gonzalez"]
    assert found("b-300") == ["Linh Nguyen"]  # the MRN, typed in lower case
    assert found("0177") == ["Mariam Hassan"]  # last four digits
    assert found("555-0307") == ["Linh Nguyen"]  # typed with a dash
    assert found("01") == []  # two digits are no search
    assert found("%") == []  # a wildcard is a character, not a pattern


def test_the_patient_page_shows_what_outreach_answered_by_itself(
    web_client: TestClient, client: TestClient, settings: Settings, engine: Engine
) -> None:
    clinic = create_clinic(engine, name="Riverside", phone=CLINIC_PHONE)
    maria = create_patient(engine, clinic, given_name="Maria", language="es-MX")
    sent_text(engine, maria, minutes_ago=30, body="Riverside: Hola Maria, su cita es mañana.")
    assert text_in(client, settings, "AYUDA", sender=maria.phone).status_code == 200  # batched on PostgreSQL
    assert text_in(client, settings, "ALTO", sender=maria.phone).status_code == 200
    sign_in(web_client, create_key(engine, clinic))
    page = web_client.get(f"/app/admin/patients/{maria.id}").text
    texts = page.split('id="texts-title"')[1].split("</section>")[0]
    marks = ("su cita es mañana", ">AYUDA<", "Para obtener ayuda", ">ALTO<", "Ya no recibirá")
    order = [texts.index(s) for s in marks]
    assert order == sorted(order)  # the reminder, HELP and its answer, the STOP and its Spanish confirmation
    assert texts.count("Answered automatically") == 2
    consent = page.split('id="consent-title"')[1].split("</section>")[0]
    assert "patient replied STOP" in consent
    assert "Revoked" in consent


def test_another_clinics_patient_is_not_found(web_client: TestClient, engine: Engine) -> None:
    clinic = create_clinic(engine)
    other = create_patient(engine, create_clinic(engine, name="Elsewhere", phone="+12025550999"))
    sign_in(web_client, create_key(engine, clinic))
    assert web_client.get(f"/app/admin/patients/{other.id}").status_code == 404
    assert web_client.get(f"/app/admin/patients/{other.id}/edit").status_code == 404


def test_add_change_and_refuse_a_patient(web_client: TestClient, engine: Engine) -> None:
    clinic = create_clinic(engine)
    sign_in(web_client, create_key(engine, clinic))
    form = {
        "csrf_token": csrf_of(web_client.get("/app/admin/patients/new")), "external_id": "MRN-9",
        "given_name": "Faadumo", "family_name": "Ali", "phone": "(202) 555-0133", "language": "so",
        "consent": "granted", "consent_source": "front desk, verbal",
    }  # fmt: skip
    added = web_client.post("/app/admin/patients/new", data=form, follow_redirects=False)
    assert added.status_code == 303
    refused = web_client.post("/app/admin/patients/new", data=form | {"external_id": "MRN-10", "phone": "12"})
    assert refused.status_code == 422
    assert "phone" in refused.text
    with Session(engine) as session:
        patient = session.exec(select(Patient).where(Patient.clinic_id == clinic.id)).one()
    assert (patient.phone, patient.consent) == ("+12025550133", ConsentStatus.GRANTED)
    edit = f"/app/admin/patients/{patient.id}/edit"
    changed = {
        "csrf_token": csrf_of(web_client.get(edit)), "given_name": "Faadumo", "family_name": "Ali Warsame",
        "phone": "+12025550134", "language": "so", "timezone": "America/Chicago",
    }  # fmt: skip
    assert web_client.post(edit, data=changed, follow_redirects=False).status_code == 303
    with Session(engine) as session:
        again = session.get_one(Patient, patient.id)
    assert (again.family_name, again.phone, again.timezone) == (
        "Ali Warsame",
        "+12025550134",
        "America/Chicago",
    )


def test_import_a_csv_from_the_page_with_a_report_per_line(web_client: TestClient, engine: Engine) -> None:
    clinic = create_clinic(engine)
    sign_in(web_client, create_key(engine, clinic))
    rows = "\n".join(
        [
            "external_id,given_name,phone,language,timezone,consent",
            "MRN-1,Ana,202-555-0111,es-MX,America/New_York,granted",
            "MRN-2,Minh,not a phone,vi,America/Chicago,granted",
            "MRN-3,Olena,202-555-0113,uk,America/Chicago,granted",
        ]
    )
    token = csrf_of(web_client.get("/app/admin/patients"))
    files = {"file": ("panel.csv", rows.encode(), "text/csv")}
    report = web_client.post("/app/admin/patients/import", data={"csrf_token": token}, files=files)
    assert report.status_code == 200
    assert "Created 2, updated 0, unchanged 0, rejected 1." in report.text
    line = report.text.split("<tbody>")[1]
    assert '<td class="num">3</td><td>phone</td>' in line  # line 3 of the file
    forged = web_client.post("/app/admin/patients/import", data={"csrf_token": "x"}, files=files)
    assert forged.status_code == 403
