"""`python -m bench inbound --seconds 20`: signed Twilio webhooks against the app under uvicorn on PostgreSQL.

The same uvicorn settings (workers, loop, HTTP parser) then serve a bare endpoint that only parses the
form and answers empty TwiML; the ratio says what signature checking, storing, triage and routing cost.
The client is a small asyncio HTTP/1.1 keep-alive protocol on uvloop, with every request signed before
the clock starts (lighter than httpx, so it steals less CPU from the server on a small machine; its own
CPU per request is printed as `client_cpu_ms`), on loopback only, for a bounded time. Every request has
its own MessageSid; afterwards the database must hold exactly one row per 200 answer.

By default 32 connections offer 1,000 requests/s between them on a fixed schedule (open loop, the
issue's "sustained rate"): latency is counted from each request's scheduled time, so a server that falls
behind pays for it in p99 rather than being offered less. `--rate 0` sends each connection's next
request as soon as the last is answered instead (closed loop: the most the server can take). The bare
endpoint always runs flat out. The database is analyzed after the warm-up, as a live one would be.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import socket
import subprocess
import sys
import time
import uuid
from collections import deque
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any, cast
from urllib.parse import urlencode

import uvloop
from fastapi import FastAPI, Request, Response
from sqlalchemy import func, insert
from sqlmodel import Session, select

from bench._support import CpuMeter, phi_env, temp_database
from outreach.db import engine_for, session_scope
from outreach.inbox.models import InboundMessage
from outreach.main import create_app
from outreach.messaging.models import OutboundMessage
from outreach.models import Clinic, Patient
from outreach.security.crypto import phone_columns
from outreach.sms.twilio import sign_request

PATH = "/webhooks/twilio/sms"
PUBLIC = "https://outreach.bench.example"
CLINIC_PHONE = "+12025550100"
TOKEN = "bench-webhook-token"  # a throwaway secret for a throwaway server
LANGUAGES = ["en", "es", "vi", "zh-Hans", "ko", "ru", "ar", "ht", "tl", "so"]
# What patients send, roughly: mostly questions, some answers and keywords, a few red flags.
BODIES = [
    "Can I bring my daughter to the visit?",
    "¿Puedo cambiar mi cita para el jueves?",
    "Tôi có thể đến muộn 10 phút không?",
    "1",
    "2",
    "3",
    "HELP",
    "Thank you",
    "I have chest pain since last night",
    "What time do you open tomorrow?",
]
# Requests made up front for a closed-loop span, per second (more are made as needed).
CLOSED_LOOP_GUESS = 3000
_EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def app() -> FastAPI:
    """The real app, with every table registered (outreach.main alone does not import them all yet)."""
    return create_app()


def bare_app() -> FastAPI:
    """The baseline: parse the same form and answer empty TwiML, nothing else."""
    app = FastAPI()

    @app.post(PATH)
    async def _sms(request: Request) -> Response:
        await request.form()
        return Response(_EMPTY_TWIML, media_type="text/xml")

    return app


def _seed(url: str, patients: int) -> list[str]:
    now = datetime.now(UTC)
    clinic = Clinic(name="Bench Clinic", phone=CLINIC_PHONE)
    people: list[dict[str, Any]] = []
    texts: list[dict[str, Any]] = []
    for i in range(patients):
        pid = uuid.uuid4()
        people.append(
            {"id": pid, "clinic_id": clinic.id, "external_id": f"B{i:06d}", "given_name": "",
             "family_name": "", "phone": f"+1303555{i:04d}", "language": LANGUAGES[i % len(LANGUAGES)],
             "timezone": "UTC", "consent": "granted", "created_at": now, "updated_at": now}
        )  # fmt: skip
        sent = now - timedelta(hours=1)
        texts.append(
            {"id": uuid.uuid4(), "clinic_id": clinic.id, "patient_id": pid, "kind": "one_off",
             "send_at": sent, "sent_at": sent, "status": "sent", "language": "en", "body": "Reminder",
             "segments": 1, "encoding": "GSM-7", "attempts": 0, "created_at": now, "updated_at": now}
        )  # fmt: skip
    with session_scope(engine_for(url)) as session:
        session.add(clinic)
        session.flush()
        session.execute(insert(Patient), [{**p, **phone_columns(p["phone"])} for p in people])
        session.execute(insert(OutboundMessage), texts)
    return [p["phone"] for p in people]


def _request(phones: list[str], rng: random.Random) -> bytes:
    form = {
        "MessageSid": f"SM{uuid.uuid4().hex}",
        "AccountSid": "AC" + "0" * 32,
        "From": rng.choice(phones),
        "To": CLINIC_PHONE,
        "Body": rng.choice(BODIES),
        "NumMedia": "0",
    }
    body = urlencode(form).encode()
    signature = sign_request(auth_token=TOKEN, url=PUBLIC + PATH, params=form)
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"X-Twilio-Signature: {signature}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class _Requests:
    """Signed requests, each with its own MessageSid, made before the clock starts.

    Signing is Twilio's work, not the server's: made during the measured span it would take CPU from the
    server on a small machine. Should a run need more than were made, the rest are made as they go.
    """

    def __init__(self, phones: list[str], count: int) -> None:
        self._phones = phones
        self._rng = random.Random()  # the traffic mix, not security
        self._made = deque(_request(phones, self._rng) for _ in range(count))

    def next(self) -> bytes:
        return self._made.popleft() if self._made else _request(self._phones, self._rng)


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection with one request in flight (a protocol, lighter than streams)."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self._answer: asyncio.Future[bool] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's are not asyncio's classes

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0 or self._answer is None:
            return
        head = bytes(self._buffer[:end]).lower().split(b"\r\n")
        length = next(int(line.split(b":", 1)[1]) for line in head if line.startswith(b"content-length:"))
        size = end + 4 + length
        if len(self._buffer) >= size:
            ok = self._buffer.startswith(b"HTTP/1.1 200")
            del self._buffer[:size]
            self._answer.set_result(ok)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(exc or ConnectionError("the server closed the connection"))

    async def exchange(self, payload: bytes) -> bool:
        """Send one request; True when it was answered 200."""
        assert self._transport is not None
        self._answer = asyncio.get_running_loop().create_future()
        self._transport.write(payload)
        return await self._answer

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


async def _connection(port: int, made: _Requests, until: float, interval: float, out: dict[str, Any]) -> None:
    loop = asyncio.get_running_loop()
    _, conn = await loop.create_connection(_Connection, "127.0.0.1", port)
    due = time.perf_counter() + random.random() * interval  # spread the connections' first sends
    try:
        while due < until:
            payload = made.next()
            if interval:  # open loop: wait for the send time; a late answer's delay counts in its latency
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                started = due
                due += interval
            else:  # closed loop: the next request as soon as the last answer is in
                started = due = time.perf_counter()
            ok = await conn.exchange(payload)
            out["latencies"].append(time.perf_counter() - started)
            out["ok" if ok else "errors"] += 1
    finally:
        conn.close()


async def _drive_all(
    port: int, made: _Requests, seconds: float, connections: int, rate: float
) -> dict[str, Any]:
    out: dict[str, Any] = {"latencies": [], "ok": 0, "errors": 0}
    interval = connections / rate if rate else 0.0
    started = time.perf_counter()
    until = started + seconds
    await asyncio.gather(*(_connection(port, made, until, interval, out) for _ in range(connections)))
    out["elapsed"] = time.perf_counter() - started
    return out


def _made(phones: list[str], seconds: float, connections: int, rate: float) -> _Requests:
    return _Requests(phones, int(seconds * (rate or CLOSED_LOOP_GUESS)) + connections)


def _drive(port: int, made: _Requests, seconds: float, connections: int, rate: float) -> dict[str, Any]:
    """Offer the load for `seconds`; the client's own CPU over that span is counted too."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    out = uvloop.run(_drive_all(port, made, seconds, connections, rate))
    after = resource.getrusage(resource.RUSAGE_SELF)
    out["client_cpu"] = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(target: str, env: dict[str, str], workers: int, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    # Served the way `outreach serve` serves (each worker on its own SO_REUSEPORT socket).
    serve = (
        f"from outreach.serving import serve; serve({target!r}, factory=True, host='127.0.0.1', port={port}, "
        f"workers={workers}, loop='uvloop', http='httptools', access_log=False, log_level='warning')"
    )
    args = [sys.executable, "-c", serve]
    proc = subprocess.Popen(args, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError(f"{target} did not start; see {log}")


def _run(
    target: str, env: dict[str, str], args: argparse.Namespace, phones: list[str], log: Path, rate: float
) -> dict[str, Any]:
    proc, port = _serve(target, env, args.workers, log)
    try:
        load = (args.connections, rate)
        warm = _drive(port, _made(phones, args.warmup, *load), args.warmup, *load)
        # A live database has planner statistics (autovacuum keeps them); a new one has none until it
        # runs, and would plan thread lookups as scans. Analyze after the warm-up has made threads.
        with engine_for(env["OUTREACH_DATABASE_URL"]).begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        # New statistics invalidate every cached plan: let the servers re-plan before the clock starts.
        settle = _drive(port, _made(phones, 1.0, *load), 1.0, *load)
        made = _made(phones, args.seconds, *load)
        meter = CpuMeter(proc.pid)
        measured = _drive(port, made, args.seconds, *load)
        measured["server_cpu"], measured["db_cpu"] = meter.seconds()
        measured["host"] = meter.host()
    finally:
        proc.terminate()
        proc.wait(30)
    measured["answered"] = warm["ok"] + settle["ok"] + measured["ok"]
    measured["errors"] += warm["errors"] + settle["errors"]
    return measured


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2) if ordered else 0.0


def _per_request(seconds: float, requests: int) -> float:
    return round(seconds * 1000 / requests, 3) if requests else 0.0


def main(argv: list[str]) -> dict[str, object]:
    """Run the inbound webhook benchmark and return its figures."""
    parser = argparse.ArgumentParser(prog="python -m bench inbound")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--rate", type=float, default=1000, help="offered requests/s (open loop); 0 = as fast as answered"
    )
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--patients", type=int, default=2000)
    args = parser.parse_args(argv)
    with temp_database() as url, TemporaryDirectory() as tmp:
        phones = _seed(url, args.patients)
        env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
        env.update(**phi_env(), OUTREACH_DATABASE_URL=url, OUTREACH_PUBLIC_BASE_URL=PUBLIC,
                   OUTREACH_DATA_DIR=tmp, OUTREACH_SIMULATOR_AUTH_TOKEN=TOKEN, OUTREACH_AUTO_MIGRATE="false",
                   # 2,000 numbers texting far faster than people do: still counted, never refused.
                   OUTREACH_RATE_LIMIT_INBOUND_PER_SENDER="1000000/minute")  # fmt: skip
        app = _run("bench.inbound:app", env, args, phones, Path(tmp) / "app.log", args.rate)
        # The bare endpoint always runs flat out: its figure is the ceiling of these server settings.
        bare = _run("bench.inbound:bare_app", env, args, phones, Path(tmp) / "bare.log", 0)
        with Session(engine_for(url)) as session:
            stored = int(session.exec(select(func.count()).select_from(InboundMessage)).one())
            distinct = int(session.exec(select(func.count(func.distinct(InboundMessage.provider_sid)))).one())
    rps = app["ok"] / app["elapsed"]
    bare_rps = bare["ok"] / bare["elapsed"]
    return {
        "bench": "inbound",
        "seconds": args.seconds,
        "connections": args.connections,
        "offered_rps": args.rate or None,
        "workers": args.workers,
        "rps": round(rps, 1),
        "p50_ms": _percentile(app["latencies"], 0.50),
        "p99_ms": _percentile(app["latencies"], 0.99),
        "errors": app["errors"],
        "stored": stored,
        "answered_200": app["answered"],
        "stored_exactly_once": stored == app["answered"] == distinct,
        # CPU per answered request over the measured span: steadier than rps on a shared machine.
        "server_cpu_ms": _per_request(app["server_cpu"], app["ok"]),
        "client_cpu_ms": _per_request(app["client_cpu"], app["ok"]),
        "db_cpu_ms": _per_request(app["db_cpu"], app["ok"]),
        **app["host"],
        "bare_rps": round(bare_rps, 1),
        "bare_server_cpu_ms": _per_request(bare["server_cpu"], bare["ok"]),
        "bare_p99_ms": _percentile(bare["latencies"], 0.99),
        "ratio_vs_bare": round(rps / bare_rps, 3),
    }
