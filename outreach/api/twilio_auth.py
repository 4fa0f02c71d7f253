"""Twilio webhook signatures, checked against the configured public URL before anything is written.

Behind a proxy the scheme and host Twilio signed come from OUTREACH_PUBLIC_BASE_URL, never from
X-Forwarded-* headers, which a caller could forge.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from outreach.api.deps import SettingsDep
from outreach.config import Settings, webhook_token
from outreach.senders.accounts import AccountTokens
from outreach.sms.twilio import sign_request, validate_signature

MAX_FORM_BYTES = 64 * 1024
MAX_FORM_FIELDS = 100


def signed_by_twilio(
    settings: Settings,
    *,
    path: str,
    query: str,
    params: Mapping[str, str],
    signature: str,
    auth_token: str | None = None,
) -> bool:
    """Whether a webhook's X-Twilio-Signature is valid for the URL Twilio called (our public base plus the
    path and query it called) and its form; an empty signature never is. `auth_token` is the signing
    account's (a clinic's subaccount: see `senders.accounts`), the deployment's when not given."""
    url = settings.public_base_url.rstrip("/") + path
    url = f"{url}?{query}" if query else url
    return bool(signature) and signature_matches(
        auth_token=auth_token or webhook_token(settings), url=url, params=params, signature=signature
    )


def signature_matches(*, auth_token: str, url: str, params: Mapping[str, str], signature: str) -> bool:
    """Whether the signature is Twilio's for this URL and form (one HMAC when it is signed as configured)."""
    # The SDK's check always signs the URL twice, with and without an explicit port. A request signed over
    # the URL exactly as configured passes after one HMAC; anything else still gets the SDK's full check.
    expected = sign_request(auth_token=auth_token, url=url, params=params)
    if hmac.compare_digest(expected.encode(), signature.encode()):
        return True
    return validate_signature(auth_token=auth_token, url=url, params=params, signature=signature)


def signing_token(accounts: AccountTokens, form: Mapping[str, str]) -> str | None:
    """The token of the account the form says signed it; None when no one configured that account."""
    return accounts.token(accounts.account(form.get("AccountSid", "")))


async def verified_form(request: Request, settings: SettingsDep) -> dict[str, str]:
    """The webhook's form fields, once its X-Twilio-Signature is valid; 403 otherwise, 400 if too large."""
    if int(request.headers.get("content-length") or 0) > MAX_FORM_BYTES:
        raise HTTPException(400, "webhook body too large")
    form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    params = {key: value for key, value in form.items() if isinstance(value, str)}
    signature = request.headers.get("X-Twilio-Signature", "")
    path, query = request.url.path, request.url.query
    token = signing_token(request.app.state.accounts, params)
    if token is None or not signed_by_twilio(
        settings, path=path, query=query, params=params, signature=signature, auth_token=token
    ):
        raise HTTPException(403, "invalid or missing X-Twilio-Signature")
    return params


VerifiedForm = Annotated[dict[str, str], Depends(verified_form)]
