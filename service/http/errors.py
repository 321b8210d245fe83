"""HTTP mapping of errors, at the edge only: clients get a JSON body naming what was wrong,
never a stack trace."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.core.deny_list import CustomerForgottenError
from service.storage.stores import StoreUnavailableError

log = logging.getLogger(__name__)


class NotFoundError(LookupError):
    """A thing the client named (item, segment) is not in the model version being served; the
    message says which and where to look instead."""


def _field(loc: tuple[object, ...] | list[object]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(loc[-1] if loc else "request")


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [
        {"field": _field(e.get("loc", ())), "message": e.get("msg", "invalid"), "in": (e.get("loc") or ["?"])[0]}
        for e in exc.errors()
    ]
    message = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return JSONResponse(status_code=422, content={"error": "invalid_request", "message": message, "errors": errors})


async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:  # every method of the path, not only those of the first route matched
        given = (headers or {}).get("Allow", "")
        headers = {**(headers or {}), "Allow": ", ".join(_allowed_methods(request, given))}
    return JSONResponse(
        status_code=exc.status_code,
        content={"error": _slug(exc.status_code), "message": message},
        headers=headers,
    )


def _allowed_methods(request: Request, given: str) -> list[str]:
    """The methods of the path template the router matched (`given`: the first route's, as
    Starlette reports them), over every route serving that template (a path may be served by one
    route per method: `GET` and `POST /rules`)."""
    first = {m.strip() for m in given.split(",") if m.strip()}
    path, routes = request.url.path, list(_flat(request.app.router.routes))
    template = next(
        (r.path for r in routes if r.path_regex.match(path) and first & set(getattr(r, "methods", None) or ())),
        None,
    )
    methods = set(first)
    for route in routes:
        if template is not None and route.path == template:
            methods |= getattr(route, "methods", None) or set()
    return sorted(methods)


def _flat(routes: list[Any]) -> Iterator[Any]:
    """Every route with a path, inside included routers too."""
    for route in routes:
        if hasattr(route, "original_router"):
            yield from _flat(route.original_router.routes)
        elif getattr(route, "path_regex", None) is not None and getattr(route, "path", None):
            if getattr(getattr(route, "endpoint", None), "__name__", "") != "method_not_allowed":
                yield route  # not a 405 guard (`service.routes.methods`): those name their Allow themselves


async def store_unavailable(request: Request, exc: StoreUnavailableError) -> JSONResponse:
    log.warning("store unavailable: %s", exc)
    return JSONResponse(
        status_code=503,
        content={"error": "unavailable", "message": "the store is temporarily unavailable: retry after Retry-After"},
        headers={"Retry-After": "1"},
    )


async def not_found(request: Request, exc: NotFoundError) -> JSONResponse:
    return JSONResponse(status_code=404, content={"error": "not_found", "message": str(exc)})


async def forgotten(request: Request, exc: CustomerForgottenError) -> JSONResponse:
    errors = [
        {"field": f, "message": f"customer {c} was forgotten", "in": "body"}
        for c, f in zip(exc.customer_ids, exc.fields)
    ]
    return JSONResponse(status_code=409, content={"error": "forgotten", "message": str(exc), "errors": errors})


def _slug(status: int) -> str:
    return {
        400: "bad_request",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        409: "conflict",
        413: "too_large",
        422: "invalid_request",
        429: "rate_limited",
    }.get(status, "error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(StoreUnavailableError, store_unavailable)  # type: ignore[arg-type]
    app.add_exception_handler(NotFoundError, not_found)  # type: ignore[arg-type]
    app.add_exception_handler(CustomerForgottenError, forgotten)  # type: ignore[arg-type]
