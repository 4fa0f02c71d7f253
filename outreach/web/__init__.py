"""The coordinator and clinic-admin web app, and the patient-phone simulator, served under /app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from outreach.web import (
    admin,
    campaign_form,
    campaigns,
    clinic,
    ehr,
    library,
    messages,
    patient_pages,
    queue,
    reports,
    routes,
    senders,
    simulator,
    thread_actions,
    threads,
)
from outreach.web.deps import PREFIX, PageError, SignInRequired, render, sign_in_url

# Everything the pages load comes from this server: no CDN, so no patient's page view reaches a third party.
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def _wants_json(request: Request) -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


async def _sign_in_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    target = sign_in_url(exc.next_url)
    if _wants_json(request):  # the page's poller sends the person to sign in itself
        return JSONResponse({"sign_in": target}, status_code=401)
    return RedirectResponse(target, status_code=303)


async def _page_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageError)
    if _wants_json(request):
        return JSONResponse({"error": exc.title, "detail": exc.message}, status_code=exc.status_code)
    context = {"title": exc.title, "message": exc.message}
    settings = request.app.state.settings
    return render(request, "message.html", context, settings=settings, status_code=exc.status_code)


class _SecurityHeaders:
    """Security and no-store headers on the web app's responses (plain ASGI: other routes pay nothing)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        # Pages carry patient texts: keep them out of shared and browser caches (static files may stay).
        private = not path.startswith(f"{PREFIX}/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.update(_SECURITY_HEADERS)
                if private:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install(app: FastAPI) -> None:
    """Mount the web app's static files, pages, error pages and security headers on the API (once)."""
    if getattr(app.state, "web_installed", False):
        return
    app.state.web_installed = True
    static = Path(__file__).parent / "static"
    app.mount(f"{PREFIX}/static", StaticFiles(directory=static), name="web-static")
    app.include_router(routes.router)
    app.include_router(admin.router)
    app.include_router(patient_pages.router)
    app.include_router(messages.router)
    app.include_router(clinic.router)
    app.include_router(library.router)
    app.include_router(campaign_form.router)  # before campaigns: /new and /{id}/edit are not ids or actions
    app.include_router(campaigns.router)
    app.include_router(senders.router)
    app.include_router(ehr.router)
    app.include_router(reports.router)
    app.include_router(simulator.router)
    app.include_router(queue.router)
    app.include_router(threads.router)
    app.include_router(thread_actions.router)
    app.add_exception_handler(SignInRequired, _sign_in_required)
    app.add_exception_handler(PageError, _page_error)
    app.add_middleware(_SecurityHeaders)
