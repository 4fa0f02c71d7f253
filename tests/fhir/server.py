"""A small FHIR R4 server for tests: SMART token endpoint, Appointment and Encounter searches with paging,
status, _lastUpdated and _include,
reads with ETags, conditional updates (If-Match), Task creation, and scripted faults (429, 5xx, 401).

It runs in a thread on a free loopback port; tests reach it through the real httpx client.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import jwt

from tests.servers import free_port


@dataclass
class Fault:
    """A scripted answer for the next matching request."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    path_prefix: str = "/fhir/"
    after: int = 0  # let this many matching requests through first


@dataclass
class FakeFhir:
    """The server's state; tests arrange it and read what was asked of it."""

    base_url: str = ""
    token_url: str = ""
    client_id: str = "outreach-test"
    public_key: Any = None  # set: the token endpoint checks client assertions against it
    algorithm: str = "RS384"
    bearer_tokens: set[str] = field(default_factory=set)
    token_lifetime_s: int = 3600
    page_size: int = 50
    patients: dict[str, dict[str, Any]] = field(default_factory=dict)
    appointments: dict[str, dict[str, Any]] = field(default_factory=dict)
    encounters: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    conflicts_on_put: int = 0  # this many PUTs meet a concurrent edit first (version bumped, 412)
    requests: list[tuple[str, str, dict[str, list[str]], dict[str, str]]] = field(default_factory=list)
    assertions: list[dict[str, Any]] = field(default_factory=list)
    issued: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def expire_tokens(self) -> None:
        """Every token issued so far stops working (as when it expires early on the server's side)."""
        with self.lock:
            self.issued = dict.fromkeys(self.issued, 0.0)

    def put_appointment(self, resource: dict[str, Any], last_updated: str = "2026-12-01T00:00:00Z") -> None:
        """Store an appointment at version 1."""
        resource = {**resource, "meta": {"versionId": "1", "lastUpdated": last_updated}}
        self.appointments[resource["id"]] = resource

    def put_encounter(self, resource: dict[str, Any], last_updated: str = "2026-12-01T00:00:00Z") -> None:
        """Store an encounter at version 1."""
        resource = {**resource, "meta": {"versionId": "1", "lastUpdated": last_updated}}
        self.encounters[resource["id"]] = resource

    def searches(self, kind: str = "Appointment") -> list[dict[str, list[str]]]:
        """The query of every search page of this resource type asked for."""
        return [q for method, path, q, _ in self.requests if method == "GET" and path == f"/fhir/{kind}"]


def _patients_of(resource: dict[str, Any]) -> list[str]:
    """The Patient ids an Appointment's participants or an Encounter's subject reference."""
    if resource["resourceType"] == "Encounter":
        refs = [str((resource.get("subject") or {}).get("reference") or "")]
    else:
        refs = [str(p.get("actor", {}).get("reference") or "") for p in resource["participant"]]
    return [r.split("/")[-1] for r in refs if r.startswith("Patient/")]


def _bundle(server: FakeFhir, query: dict[str, list[str]], kind: str = "Appointment") -> dict[str, Any]:
    window = list(query.get("date", []))
    low = next(
        (datetime.fromisoformat(v[2:].replace("Z", "+00:00")) for v in window if v.startswith("ge")), None
    )
    high = next(
        (datetime.fromisoformat(v[2:].replace("Z", "+00:00")) for v in window if v.startswith("le")), None
    )
    since = query.get("_lastUpdated", [""])[0]
    statuses = {s for v in query.get("status", []) for s in v.split(",")}
    found = []
    stored = server.encounters if kind == "Encounter" else server.appointments
    for appointment in sorted(stored.values(), key=lambda a: a["id"]):
        start = datetime.fromisoformat(appointment["start"]) if appointment.get("start") else None
        if start is not None and ((low and start < low) or (high and start > high)):
            continue
        if since and appointment["meta"]["lastUpdated"] < since[2:]:
            continue
        if statuses and appointment["status"] not in statuses:
            continue
        found.append(appointment)
    offset = int(query.get("_offset", ["0"])[0])
    page = found[offset : offset + server.page_size]
    entries: list[dict[str, Any]] = [
        {"fullUrl": f"{server.base_url}/{kind}/{a['id']}", "resource": a, "search": {"mode": "match"}}
        for a in page
    ]
    if f"{kind}:patient" in query.get("_include", []):
        refs = {ref for a in page for ref in _patients_of(a)}
        entries += [
            {
                "fullUrl": f"{server.base_url}/Patient/{r}",
                "resource": server.patients[r],
                "search": {"mode": "include"},
            }
            for r in sorted(refs)
            if r in server.patients
        ]
    links = [{"relation": "self", "url": f"{server.base_url}/{kind}"}]
    if offset + server.page_size < len(found):
        following = [(k, v) for k, vs in query.items() for v in vs if k != "_offset"] + [
            ("_offset", str(offset + server.page_size))
        ]
        links.append({"relation": "next", "url": f"{server.base_url}/{kind}?{urlencode(following)}"})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(found),
        "link": links,
        "entry": entries,
    }


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: object) -> None:
        return

    def _send(
        self, status: int, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _handle(self, method: str) -> None:
        fake = self.server.fake
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        body = self._body() if method in ("POST", "PUT") else b""
        with fake.lock:
            fake.requests.append((method, url.path, query, dict(self.headers.items())))
            fault = next((f for f in fake.faults if url.path.startswith(f.path_prefix)), None)
            if fault is not None and fault.after > 0:
                fault.after -= 1
                fault = None
            elif fault is not None:
                fake.faults.remove(fault)
        if fault is not None:
            self._send(fault.status, {"resourceType": "OperationOutcome"}, fault.headers)
            return
        if url.path == "/token" and method == "POST":
            self._token(dict(parse_qsl(body.decode())))
            return
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        with fake.lock:
            good = token in fake.bearer_tokens or fake.issued.get(token, 0.0) > time.time()
        if not good:
            self._send(401, {"resourceType": "OperationOutcome"})
            return
        self._fhir(method, url.path.removeprefix("/fhir"), query, body)

    def _token(self, form: dict[str, str]) -> None:
        fake = self.server.fake
        try:
            claims = jwt.decode(
                form.get("client_assertion", ""),
                fake.public_key,
                algorithms=[fake.algorithm],
                audience=fake.token_url,
                issuer=fake.client_id,
                options={"require": ["exp", "jti", "sub"]},
            )
        except jwt.PyJWTError as exc:
            self._send(401, {"error": "invalid_client", "error_description": str(exc)})
            return
        if form.get("grant_type") != "client_credentials" or claims["sub"] != fake.client_id:
            self._send(400, {"error": "invalid_request"})
            return
        token = secrets.token_hex(16)
        with fake.lock:
            fake.assertions.append(claims)
            fake.issued[token] = time.time() + fake.token_lifetime_s
        self._send(
            200,
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": fake.token_lifetime_s,
                "scope": form.get("scope"),
            },
        )

    def _fhir(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> None:
        fake = self.server.fake
        parts = path.strip("/").split("/")
        if method == "GET" and parts in (["Appointment"], ["Encounter"]):
            self._send(200, _bundle(fake, query, parts[0]))
        elif (
            method == "GET"
            and len(parts) == 2
            and parts[0] == "Appointment"
            and parts[1] in fake.appointments
        ):
            resource = fake.appointments[parts[1]]
            self._send(200, resource, {"ETag": f'W/"{resource["meta"]["versionId"]}"'})
        elif method == "PUT" and len(parts) == 2 and parts[0] == "Appointment":
            self._update(parts[1], json.loads(body))
        elif method == "POST" and parts == ["Task"]:
            task = {**json.loads(body), "id": f"task-{len(fake.tasks) + 1}"}
            fake.tasks.append(task)
            self._send(201, task, {"Location": f"{fake.base_url}/Task/{task['id']}/_history/1"})
        else:
            self._send(404, {"resourceType": "OperationOutcome"})

    def _update(self, fhir_id: str, resource: dict[str, Any]) -> None:
        fake = self.server.fake
        with fake.lock:
            current = fake.appointments[fhir_id]
            if fake.conflicts_on_put > 0:  # someone at the front desk saved the visit a moment ago
                fake.conflicts_on_put -= 1
                version = str(int(current["meta"]["versionId"]) + 1)
                current["meta"] = {**current["meta"], "versionId": version}
            if self.headers.get("If-Match") != f'W/"{current["meta"]["versionId"]}"':
                conflict = True
            else:
                conflict = False
                version = str(int(current["meta"]["versionId"]) + 1)
                resource["meta"] = {**(resource.get("meta") or {}), "versionId": version}
                fake.appointments[fhir_id] = resource
        if conflict:
            self._send(412, {"resourceType": "OperationOutcome"})
        else:
            self._send(200, resource, {"ETag": f'W/"{version}"'})

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeFhir


@contextmanager
def fhir_server(fake: FakeFhir | None = None) -> Iterator[FakeFhir]:
    """Serve a FakeFhir on a free loopback port until the block ends."""
    fake = fake or FakeFhir()
    port = free_port()
    httpd = _Server(("127.0.0.1", port), _Handler)
    httpd.fake = fake
    fake.base_url, fake.token_url = f"http://127.0.0.1:{port}/fhir", f"http://127.0.0.1:{port}/token"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
