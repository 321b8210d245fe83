from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, status

from service.http.auth import WriteAccessDep
from service.http.deps import ReloaderDep
from service.http.schemas import ErrorBody, ReloadResult
from service.reload import ReloadError

router = APIRouter(prefix="/admin", tags=["operations"])

ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (401, 403, 409, 429)}


@router.post("/reload", response_model=ReloadResult, dependencies=[WriteAccessDep], responses=ERRORS)
async def reload_model(request: Request, reloader: ReloaderDep) -> ReloadResult:
    """Load the version to serve from the artifacts directory (with Redis: the one Redis serves,
    so the in-process fallback follows a publish or rollback; otherwise the newest) and switch to
    it without a restart. Requests in flight finish on the old one; none fails. 409 if it cannot
    be loaded (the old one keeps serving)."""
    try:
        result = await reloader.reload(request.app.state)
    except ReloadError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return ReloadResult(previous_version=result.previous, version=result.version, changed=result.changed)
