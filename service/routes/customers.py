from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status

from service.core import privacy
from service.http.auth import WriteAccessDep
from service.http.deps import CustomerId, DenyListDep, MetricsDep, ServingDep
from service.http.schemas import CustomerExport, ErrorBody

router = APIRouter(prefix="/customers", tags=["privacy"])

ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (401, 403, 422, 429, 503)}


@router.get("/{customer_id}/export", response_model=CustomerExport, dependencies=[WriteAccessDep], responses=ERRORS)
async def export_customer(customer_id: CustomerId, serving: ServingDep, deny: DenyListDep) -> CustomerExport:
    """Everything stored about the customer: purchases the loaded model was trained on, events
    and live state since, their cached lists in every held version, and their segment. An
    unknown customer gets an empty export; a forgotten one `forgotten: true` and nothing else.
    503 while Redis is down (it would be incomplete)."""
    return await privacy.export_customer(serving, deny, customer_id, serving.live.now_ms())


@router.delete(
    "/{customer_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[WriteAccessDep], responses=ERRORS
)
async def forget_customer(
    customer_id: CustomerId, request: Request, deny: DenyListDep, metrics: MetricsDep
) -> Response:
    """Forget the customer at once: cached lists, live state, logged events and segment
    membership are removed, and the id goes on the deny list the training job honours. Their
    next `/recommend` is not personal. Always 204, also for an id never seen (idempotent: the
    id is still denied from future training). 503 if Redis is down: nothing is half-forgotten
    that a retry would not finish."""
    await privacy.forget_customer(request.app.state, deny, customer_id)
    metrics.forgotten.inc()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{customer_id}/restore", status_code=status.HTTP_204_NO_CONTENT, dependencies=[WriteAccessDep], responses=ERRORS
)
async def restore_customer(customer_id: CustomerId, deny: DenyListDep) -> Response:
    """Take a forgotten customer off the deny list (they came back and agreed): from now on their
    events are accepted and the next training run may use the shop's purchase rows of them.
    Nothing erased comes back; until a model trained after the restore is served they are a
    new customer. Always 204 (idempotent); 503 if the deny list cannot be written."""
    await privacy.restore_customer(deny, customer_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
