"""405 for a fixed path that a path-parameter route of another method would otherwise swallow.

Routing takes the first route that matches both path and method, so `GET /recommend/batch`
matched `GET /recommend/{customer_id}` and answered a recommendation for a customer named
"batch" instead of saying the batch endpoint is POST-only. A route registered with
`refuse_other_methods` before the parameterized one answers every other method with a 405
JSON error and the `Allow` header of the fixed path.

The same guard, registered after them, serves a path whose methods are separate routes (`GET`
and `POST /campaigns`): Starlette's own 405 would name only the first route's method in `Allow`.
"""

from __future__ import annotations

from typing import NoReturn

from fastapi import APIRouter, Request
from starlette.exceptions import HTTPException

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def refuse_other_methods(router: APIRouter, path: str, allowed: str, *more: str) -> None:
    """Register, on `router`, a 405 for every method but `allowed` (and `more`) on `path`; call
    it before the route whose path template also matches `path`. `allowed` may itself list
    several ("GET, POST")."""
    names = [m.strip() for m in allowed.split(",")] + list(more)
    allow = ", ".join(names)

    async def method_not_allowed(request: Request) -> NoReturn:
        raise HTTPException(405, f"{path} accepts {allow} only, not {request.method}", headers={"Allow": allow})

    others = [m for m in METHODS if m not in names and not (m == "HEAD" and "GET" in names)]
    router.add_api_route(path, method_not_allowed, methods=others, include_in_schema=False, response_model=None)
