"""HTTP mapping of errors, at the edge only: clients get a JSON body naming what was wrong,
never a stack trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

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


def _allowed_methods(request: Request) -> set[str]:
    """Every method some route of this path accepts. Starlette's 405 names only the first
    route that matched the path, so `DELETE /campaigns` would say `Allow: GET` though POST is
    served too."""
    allowed: set[str] = set()
    pending = list(request.app.router.routes)
    while pending:
        route = pending.pop()
        if hasattr(route, "original_router"):  # an included router: its routes carry the full path
            pending.extend(route.original_router.routes)
            continue
        methods = getattr(route, "methods", None)
        if methods and route.matches({**request.scope, "method": next(iter(methods))})[0] is Match.FULL:
            allowed.update(methods)
    return allowed


async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405 and message == "Method Not Allowed":  # the router's own, not a route's
        allowed = _allowed_methods(request)
        if allowed:
            headers = {"Allow": ", ".join(sorted(allowed))}
            message = f"{request.url.path} accepts {', '.join(sorted(allowed))}, not {request.method}"
    return JSONResponse(
        status_code=exc.status_code, content={"error": _slug(exc.status_code), "message": message}, headers=headers
    )


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
