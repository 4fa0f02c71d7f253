"""The FastAPI application."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from outreach import web
from outreach.api import (
    admin,
    campaigns,
    clinic,
    coordinator,
    fhir,
    health,
    journeys,
    languages,
    metrics,
    patients,
    reports,
    senders,
    simulator,
    webhooks,
)
from outreach.api import docs as api_docs
from outreach.api.inbound import InboundWebhook
from outreach.config import Settings, get_settings
from outreach.db import engine_for
from outreach.errors import install_handlers
from outreach.inbox.receiver import PostgresReceiver, SessionReceiver
from outreach.observability.logs import RequestIds
from outreach.redaction import install_access_log_redaction
from outreach.security import api as security_api
from outreach.security import crypto
from outreach.security.limits import install_limits
from outreach.senders.accounts import AccountTokens


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API for the given settings (the process settings by default)."""
    settings = settings or get_settings()
    install_access_log_redaction()
    crypto.use(settings)  # phone numbers are encrypted and indexed with this deployment's keys
    engine = engine_for(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Inbound texts run on the event loop with their own connections on PostgreSQL (see receiver).
        if engine.dialect.name == "postgresql":
            receiver = PostgresReceiver(engine)
            receiver.stop_scope = settings.stop_scope
            await receiver.open()
            app.state.receiver = receiver
        # What is loaded by now (modules, catalogs, metadata: ~170,000 objects) lives as long as the
        # process; a full garbage collection that walked it all would stall every request for ~100 ms.
        # (No collection first: it would cost each start, tests start hundreds, and startup leaves
        # little garbage; unfreezing at shutdown hands whatever there was back to the collector.)
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            await app.state.receiver.close()
            app.state.receiver = SessionReceiver(engine, stop_scope=settings.stop_scope)

    app = FastAPI(
        lifespan=lifespan,
        title="outreach",
        summary="Multilingual SMS patient outreach: reminders, check-ins and a care-coordinator reply queue.",
        version="0.1.0",
        docs_url=None,  # served by api.docs with local assets
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    # Until the lifespan starts (and on SQLite throughout).
    app.state.receiver = SessionReceiver(engine, stop_scope=settings.stop_scope)
    app.state.accounts = AccountTokens(settings=settings, engine=engine)  # who signs webhooks
    install_handlers(app)
    api_docs.install(app)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(patients.router)
    app.include_router(admin.router)
    app.include_router(clinic.router)
    app.include_router(fhir.router)
    app.include_router(campaigns.router)
    app.include_router(senders.router)
    app.include_router(reports.router)
    app.include_router(languages.router)
    app.include_router(coordinator.router)
    app.include_router(journeys.router)
    app.include_router(journeys.coordinator_router)
    app.include_router(simulator.router)
    app.include_router(webhooks.router)
    app.include_router(security_api.router)
    web.install(app)
    install_limits(app)  # request body sizes and the documented error shape
    app.add_middleware(InboundWebhook)  # last added runs first: Twilio's webhook skips the routing
    if settings.log_format == "json":  # request ids for the JSON logs (nothing to carry them otherwise)
        app.add_middleware(RequestIds)
    return app
