"""405 for a fixed path that a path-parameter route of another method would otherwise swallow.

Routing takes the first route that matches both path and method, so `GET /recommend/batch`
matched `GET /recommend/{customer_id}` and answered a recommendation for a customer named
"batch" instead of saying the batch endpoint is POST-only. A route registered with
`refuse_other_methods` before the parameterized one answers every other method with a 405
JSON error and the `Allow` header of the fixed path.

A path whose methods are separate routes (`GET` and `POST /campaigns`) needs no guard: the 405
handler (`service.http.errors`) names every method of the path.
"""

from __future__ import annotations

from typing import NoReturn

from fastapi import APIRouter, Request
from starlette.exceptions import HTTPException

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def refuse_other_methods(router: APIRouter, path: str, allowed: str) -> None:
    """Register, on `router`, a 405 for every method but `allowed` on `path`; call it before
    the route whose path template also matches `path`."""

    async def method_not_allowed(request: Request) -> NoReturn:
        raise HTTPException(405, f"{path} accepts {allowed} only, not {request.method}", headers={"Allow": allowed})

    others = [m for m in METHODS if m != allowed and not (m == "HEAD" and allowed == "GET")]
    router.add_api_route(path, method_not_allowed, methods=others, include_in_schema=False, response_model=None)
