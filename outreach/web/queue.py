"""The coordinator's reply queue: most urgent first, then longest waiting, refreshing itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from outreach.api.deps import SessionDep, SettingsDep
from outreach.db import utcnow
from outreach.errors import Invalid
from outreach.i18n import SUPPORTED
from outreach.inbox import coordinator_queue as queue
from outreach.inbox.context import handled_automatically
from outreach.inbox.models import ACTIVE, Priority, ThreadStatus
from outreach.inbox.schemas import ThreadPage
from outreach.web import display
from outreach.web.deps import PREFIX, Viewer, ViewerDep, render

router = APIRouter(prefix=PREFIX, include_in_schema=False)
PAGE_SIZE = 50
AUTO_HANDLED_WINDOW = timedelta(hours=24)

# The status filter's choices: "" is the default, every thread someone still has to finish.
STATUSES: dict[str, tuple[str, tuple[ThreadStatus, ...]]] = {
    "": ("Waiting or claimed", ACTIVE),
    "open": ("Waiting (nobody has it)", (ThreadStatus.OPEN,)),
    "claimed": ("Claimed", (ThreadStatus.CLAIMED,)),
    "resolved": ("Resolved", (ThreadStatus.RESOLVED,)),
}


@dataclass(frozen=True, slots=True)
class Chosen:
    """The queue filters as the person set them (echoed back into the form and the page links)."""

    status: str = ""
    priority: str = ""
    language: str = ""
    mine: bool = False

    def query(self, **extra: str) -> str:
        """The filters (and `extra`) as a query string, leaving out the empty ones."""
        pairs = {"status": self.status, "priority": self.priority, "language": self.language}
        pairs |= {"mine": "1" if self.mine else ""} | extra
        return urlencode({k: v for k, v in pairs.items() if v})


def _chosen(status: str, priority: str, language: str, mine: str) -> Chosen:
    """Unknown values are ignored rather than refused: a stale bookmark still opens the queue."""
    return Chosen(
        status=status if status in STATUSES else "",
        priority=priority if priority in set(Priority) else "",
        language=language if language in SUPPORTED else "",
        mine=mine in ("1", "on", "true"),
    )


def _context(db: Session, viewer: Viewer, chosen: Chosen, cursor: str) -> dict[str, Any]:
    key_id = viewer.session.key_id
    assert key_id is not None  # a signed-in viewer has a key
    filters = queue.Filters(
        status=STATUSES[chosen.status][1],
        priority=Priority(chosen.priority) if chosen.priority else None,
        language=chosen.language or None,
        mine=chosen.mine,
    )

    def listed(after: str | None) -> ThreadPage:
        return queue.list_threads(
            session=db,
            clinic_id=viewer.clinic.id,
            key_id=key_id,
            filters=filters,
            limit=PAGE_SIZE,
            cursor=after,
        )

    try:
        page = listed(cursor or None)
    except Invalid:  # a cursor from an old link: start from the top instead of failing
        page, cursor = listed(None), ""
    profile = queue.get_profile(session=db, clinic_id=viewer.clinic.id, key_id=key_id)
    now = utcnow()
    return {
        "viewer": viewer,
        "threads": page.items,
        "next_url": f"?{chosen.query(cursor=page.next_cursor)}" if page.next_cursor else None,
        "first_url": f"?{chosen.query()}" if cursor else None,
        "chosen": chosen,
        "statuses": {value: label for value, (label, _) in STATUSES.items()},
        "priorities": list(Priority),
        "languages": sorted(((tag, display.language_name(tag)) for tag in SUPPORTED), key=lambda p: p[1]),
        "my_languages": ", ".join(display.language_name(tag) for tag in profile.languages),
        "handled": handled_automatically(
            session=db, clinic_id=viewer.clinic.id, since=now - AUTO_HANDLED_WINDOW
        ),
        "now": now,
    }


@router.get("/queue", summary="The reply queue")
def queue_page(
    request: Request,
    viewer: ViewerDep,
    db: SessionDep,
    settings: SettingsDep,
    status: str = "",
    priority: str = "",
    language: str = "",
    mine: str = "",
    cursor: str = "",
) -> HTMLResponse:
    # Admins read the queue too (the actions stay a coordinator's).
    context = _context(db, viewer, _chosen(status, priority, language, mine), cursor[:200])
    return render(request, "queue.html", context, settings=settings)


@router.get("/queue/rows", summary="The queue's live part, for the page to refresh itself")
def queue_rows(
    request: Request,
    viewer: ViewerDep,
    db: SessionDep,
    settings: SettingsDep,
    status: str = "",
    priority: str = "",
    language: str = "",
    mine: str = "",
    cursor: str = "",
) -> HTMLResponse:
    # Admins read the queue too (the actions stay a coordinator's).
    context = _context(db, viewer, _chosen(status, priority, language, mine), cursor[:200])
    return render(request, "_queue_rows.html", context, settings=settings)
