"""Unknown query parameters are refused on the admin list routes, not silently ignored.

A misspelt filter (`?patinet_id=…`, `?stauts=sent`) would otherwise answer the whole, unfiltered list,
which looks filtered and is not. The parameters a route accepts are the ones it declares (its own and
those of its dependencies), so a route needs nothing of its own to be covered.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from outreach.errors import Invalid

_ACCEPTED: dict[int, frozenset[str]] = {}


def _declared(dependant: Dependant) -> Iterator[str]:
    for param in dependant.query_params:
        yield param.alias
    for sub in dependant.dependencies:
        yield from _declared(sub)


def accepted_query(route: APIRoute) -> frozenset[str]:
    """The query parameter names a route declares."""
    key = id(route)
    if key not in _ACCEPTED:
        _ACCEPTED[key] = frozenset(_declared(route.dependant))
    return _ACCEPTED[key]


def _refuse_unknown_query(request: Request) -> None:
    route: Any = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    accepted = accepted_query(route)
    for name in request.query_params:
        if name not in accepted:
            known = ", ".join(sorted(accepted)) or "none"
            raise Invalid(name, f"unknown query parameter; this route takes: {known}")


refuse_unknown_query = Depends(_refuse_unknown_query)
