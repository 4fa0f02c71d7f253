"""A FHIR R4 REST client over httpx: searches with paging, reads, conditional updates, creates.

Retries what the server asks to be retried: 429 waits for Retry-After (seconds or an HTTP date, capped),
5xx and connection errors back off exponentially; a 401 renews the token once. Logs never carry
resources, only paths and status codes.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from outreach.fhir.auth import Auth

log = logging.getLogger(__name__)
FHIR_JSON = "application/fhir+json"
_MAX_WAIT_S = 120.0


class FhirError(RuntimeError):
    """The FHIR server did not answer usefully; the message says what happened (no PHI)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Read:
    """A resource as read, with its ETag (W/"3") for a conditional update."""

    resource: dict[str, Any]
    etag: str | None


def retry_after_s(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


class FhirClient:
    """One clinic's FHIR server."""

    def __init__(
        self,
        *,
        base_url: str,
        auth: Auth,
        http: httpx.Client,
        max_retries: int = 4,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url, self.auth, self.http = base_url.rstrip("/"), auth, http
        self.max_retries, self.sleep = max_retries, sleep

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send with authentication and retries; return the final response (any status)."""
        target = url if url.startswith(("http://", "https://")) else f"{self.base_url}/{url.lstrip('/')}"
        renewed = False
        attempt = 0
        while True:
            headers = {"Accept": FHIR_JSON, **kwargs.pop("headers", {})}
            headers["Authorization"] = self.auth.header(self.http)
            try:
                response = self.http.request(method, target, headers=headers, **kwargs)
            except httpx.TransportError as exc:
                if attempt >= self.max_retries:
                    raise FhirError(f"{method} {httpx.URL(target).path}: {type(exc).__name__}") from None
                self.sleep(min(_MAX_WAIT_S, 0.5 * 2**attempt))
                attempt += 1
                kwargs["headers"] = headers
                continue
            kwargs["headers"] = {k: v for k, v in headers.items() if k != "Authorization"}
            if response.status_code == 401 and not renewed:
                renewed = True
                self.auth.invalidate()
                continue
            retryable = response.status_code == 429 or response.status_code >= 500
            if not retryable or attempt >= self.max_retries:
                return response
            wait = retry_after_s(response.headers.get("Retry-After"), now=time.time())
            wait = min(_MAX_WAIT_S, wait if wait is not None else 0.5 * 2**attempt)
            log.info(
                "FHIR %s %s answered %s; retrying in %.1fs",
                method,
                response.url.path,
                response.status_code,
                wait,
            )
            self.sleep(wait)
            attempt += 1

    def _json(self, response: httpx.Response, what: str) -> dict[str, Any]:
        if response.status_code != 200:
            raise FhirError(f"{what} answered {response.status_code}", response.status_code)
        body = response.json()
        if not isinstance(body, dict):
            raise FhirError(f"{what} answered something that is not a FHIR resource")
        return body

    def search(self, resource_type: str, params: list[tuple[str, str]]) -> Iterator[dict[str, Any]]:
        """Every page (a searchset Bundle) of a search, following Bundle.link[next]."""
        page = self._json(self.request("GET", resource_type, params=params), f"search {resource_type}")
        while True:
            yield page
            following = next(
                (link.get("url") for link in page.get("link") or [] if link.get("relation") == "next"), None
            )
            if not following:
                return
            page = self._json(self.request("GET", str(following)), f"search {resource_type} (next page)")

    def read(self, resource_type: str, fhir_id: str) -> Read:
        """One resource and its ETag."""
        response = self.request("GET", f"{resource_type}/{fhir_id}")
        return Read(self._json(response, f"read {resource_type}"), response.headers.get("ETag"))

    def update(self, resource: dict[str, Any], *, etag: str | None) -> httpx.Response:
        """PUT a resource, with If-Match on the version read (the response says if it was current)."""
        headers = {"Content-Type": FHIR_JSON}
        if etag:
            headers["If-Match"] = etag
        return self.request(
            "PUT", f"{resource['resourceType']}/{resource['id']}", json=resource, headers=headers
        )

    def create(self, resource: dict[str, Any]) -> httpx.Response:
        """POST a new resource."""
        return self.request(
            "POST", str(resource["resourceType"]), json=resource, headers={"Content-Type": FHIR_JSON}
        )
