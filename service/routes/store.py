from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from service.core import experiments, personal_store
from service.core.recommend import active_version
from service.http.deps import CustomerId, ItemFiltersDep, LiveDep, StoresDep
from service.http.params import DEFAULT_K, MAX_STORE_K, MIN_K
from service.http.schemas import ErrorBody, PersonalStore
from service.storage.stores import OfferStore

router = APIRouter(tags=["personal store"])


@router.get(
    "/personal-store/{customer_id}",
    response_model=PersonalStore,
    responses={422: {"model": ErrorBody}, 503: {"model": ErrorBody}},
)
async def get_personal_store(
    customer_id: CustomerId,
    stores: StoresDep,
    filters: ItemFiltersDep,
    live: LiveDep,
    k: Annotated[int, Query(ge=MIN_K, le=MAX_STORE_K, description="items per section")] = DEFAULT_K,
) -> PersonalStore:
    """The customer's store page: buy again, picked for you, because you bought, trending in their
    segment, new arrivals; plus their loyalty tier. Unknown customers get best-sellers, trending
    and new arrivals. No item appears twice; sections with nothing to show are left out. What the
    customer did since training (POST /events) changes every section as it changes /recommend."""

    async def build(store: OfferStore) -> PersonalStore:
        chosen = await experiments.assignment(live, store, customer_id)
        version = chosen.version_or(await active_version(store))
        return await personal_store.personal_store(
            store, version, customer_id, k, filters.exclude, filters.category, live, chosen=chosen
        )

    return await stores.answer(build)
