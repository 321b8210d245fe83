"""The live-state rules, run the same against the Redis (Lua) and embedded (Python) versions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from models.contract.events import Event
from service.live import EmbeddedLiveState, LivePolicy, LiveState, RedisLiveState
from service.live.state import Impressions, parse_feedback_field
from tests.support.stores import STORES

pytestmark = pytest.mark.anyio

POLICY = LivePolicy(dismiss_ms=1_000, cap_impressions=2, cap_window_ms=10_000, negative_keep=3, ttl_s=3600)
T0 = 1_700_000_000_000


def shown(items: list[str], segment: str = "s", capped: tuple[str, ...] = ()) -> Impressions:
    return Impressions("c1", tuple(items), "personal", "recommend", segment, capped)


def ev(kind: str, item: str = "i1", ts: int = T0, customer: str = "c1", section: str | None = None) -> Event:
    return Event(customer, item, kind, ts, 1, section)  # type: ignore[arg-type]


@pytest.fixture(params=STORES)
async def make_state(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Callable[[], LiveState]]:
    """Builds states over one backing store: a new connection each time for Redis; the embedded
    state belongs to one process, so it is the same object every time."""
    opened: list[LiveState] = []
    clients: list[aioredis.Redis] = []
    if request.param == "redis":
        url = request.getfixturevalue("redis_server").url
        flush = aioredis.Redis.from_url(url)
        await flush.flushdb()
        await flush.aclose()

    def make() -> LiveState:
        state: LiveState
        if request.param == "redis":
            client = aioredis.Redis.from_url(url)
            clients.append(client)
            state = RedisLiveState(client, POLICY)
        elif opened:
            return opened[0]
        else:
            state = EmbeddedLiveState(POLICY, tmp_path / "events.jsonl")
        opened.append(state)
        return state

    yield make
    for state in opened:
        await state.close()
    for client in clients:
        await client.aclose()


async def test_purchases_are_counted_and_ordered_newest_first(make_state: Callable[[], LiveState]) -> None:
    state = make_state()
    await state.record(
        [ev("purchase", "a", T0), ev("purchase", "b", T0 + 5), ev("purchase", "a", T0 + 1)], ["s"] * 3, T0
    )
    snap = await state.snapshot("c1", T0)
    assert snap.purchases == {"a": (2, T0 + 1), "b": (1, T0 + 5)}
    assert snap.recent_purchases() == ["b", "a"]
    assert snap.purchases_after(T0 + 1) == {"b": 1}


async def test_dismissal_expires_return_does_not(make_state: Callable[[], LiveState]) -> None:
    state = make_state()
    await state.record([ev("dismiss", "d"), ev("return", "r"), ev("complaint", "c")], ["s"] * 3, T0)
    assert (await state.snapshot("c1", T0 + 999)).suppressed == {"d", "r", "c"}
    assert (await state.snapshot("c1", T0 + 1_000)).suppressed == {"r", "c"}
    assert (await state.snapshot("c1", T0 + 10**9)).suppressed == {"r", "c"}


async def test_only_the_newest_negatives_are_kept(make_state: Callable[[], LiveState]) -> None:
    state = make_state()
    await state.record([ev("return", f"n{k}", T0 + k) for k in range(5)], ["s"] * 5, T0)
    assert (await state.snapshot("c1", T0)).negative == ("n4", "n3", "n2")


async def test_cap_counts_impressions_per_window_and_engagement_resets(make_state: Callable[[], LiveState]) -> None:
    state = make_state()
    await state.record_impressions(shown(["a", "b"]), T0)
    await state.record([ev("impression", "a", T0 + 1)], ["s"], T0 + 1)
    snap = await state.snapshot("c1", T0 + 2)
    assert snap.capped(POLICY, T0 + 2) == {"a"}
    assert snap.capped(POLICY, T0 + 10_001) == frozenset()  # window over
    await state.record([ev("click", "a", T0 + 3)], ["s"], T0 + 3)
    assert (await state.snapshot("c1", T0 + 3)).capped(POLICY, T0 + 3) == frozenset()
    await state.record_impressions(shown(["b"]), T0 + 20_000)  # new window
    assert (await state.snapshot("c1", T0 + 20_000)).shown["b"].count == 1


async def test_impressions_of_items_at_the_cap_are_counted_not_written(make_state: Callable[[], LiveState]) -> None:
    """Both backends: an item an answer showed while at the cap keeps its count (and where it
    was shown before), yet the answer's every item counts in the feedback totals."""
    state = make_state()
    await state.record_impressions(shown(["a", "b"]), T0)
    await state.record_impressions(shown(["a", "b"]), T0 + 1)  # both at the cap (2) now
    snap = await state.snapshot("c1", T0 + 2)
    assert snap.capped_among(["b", "x", "a"], POLICY, T0 + 2) == ("b", "a")
    await state.record_impressions(Impressions("c1", ("a", "c"), "popular", "email", "s", ("a",)), T0 + 2)
    after = (await state.snapshot("c1", T0 + 3)).shown
    assert after["a"] == snap.shown["a"] and after["b"] == snap.shown["b"]
    assert after["c"].count == 1 and (after["c"].source, after["c"].section) == ("popular", "email")
    counts = {parse_feedback_field(k): v for k, v in (await state.feedback_counts()).items()}
    assert counts == {("impression", "personal", "recommend", "s"): 4, ("impression", "popular", "email", "s"): 2}


async def test_events_are_attributed_to_where_the_item_was_shown(make_state: Callable[[], LiveState]) -> None:
    state = make_state()
    await state.record_impressions(shown(["a"], "Germany"), T0)
    recorded = await state.record(
        [ev("click", "a"), ev("purchase", "a"), ev("click", "z"), ev("click", "a", section="email")],
        ["Germany"] * 4,
        T0,
    )
    assert [(r.source, r.section) for r in recorded] == [
        ("personal", "recommend"),
        ("personal", "recommend"),
        ("none", "none"),
        ("personal", "email"),
    ]
    counts = {parse_feedback_field(k): v for k, v in (await state.feedback_counts()).items()}
    assert counts[("impression", "personal", "recommend", "Germany")] == 1
    assert counts[("click", "personal", "recommend", "Germany")] == 1
    assert counts[("purchase", "personal", "recommend", "Germany")] == 1


async def test_contact_is_claimed_once_per_interval(make_state: Callable[[], LiveState]) -> None:
    state = make_state()
    assert await state.claim_contact("c1", T0, 100) is None
    assert await state.claim_contact("c1", T0 + 99, 100) == T0
    assert await state.claim_contact("c1", T0 + 100, 100) is None
    assert (await state.snapshot("c1", T0)).last_contact_ms == T0 + 100


async def test_concurrent_writers_on_separate_connections_lose_nothing(make_state: Callable[[], LiveState]) -> None:
    states = [make_state(), make_state()]
    writes = [
        states[n % 2].record([ev("purchase", "hot", T0 + n), ev("impression", "hot", T0 + n)], ["s"] * 2, T0)
        for n in range(100)
    ]
    ids = [r.id for batch in await asyncio.gather(*writes) for r in batch]
    assert len(set(ids)) == 200
    snap = await states[0].snapshot("c1", T0)
    assert snap.purchases["hot"][0] == 100
    assert sum(v for k, v in (await states[0].feedback_counts()).items() if k.startswith("purchase|")) == 100


async def test_claims_race_and_only_one_wins(make_state: Callable[[], LiveState]) -> None:
    states = [make_state() for _ in range(3)]
    results = await asyncio.gather(*(s.claim_contact("c9", T0, 1_000) for s in states for _ in range(5)))
    assert results.count(None) == 1


async def test_the_overlay_read_changes_answers_as_the_full_state_does(make_state: Callable[[], LiveState]) -> None:
    """Requests read the overlay (Redis: one view key the scripts keep); whatever happened, the
    answer computed from it is the one the full state gives, at every moment."""
    import random

    from models.contract import Offer
    from service.live.overlays import LiveContext, apply_live

    state = make_state()
    ctx = LiveContext(state, None, POLICY, similar_pushdown=0)
    offers = [Offer(f"i{n}", 1.0 - n / 100, n % 7 == 0) for n in range(30)]
    rng = random.Random(7)
    now = T0
    kinds = ["purchase", "dismiss", "return", "complaint", "click", "add_to_cart", "impression"]
    for step in range(60):
        now += rng.choice([1, 200, 900, 4_000, 11_000])
        if rng.random() < 0.5:
            await state.record_impressions(shown([f"i{rng.randrange(12)}" for _ in range(3)], "3"), now)
        else:
            await state.record([ev(rng.choice(kinds), f"i{rng.randrange(30)}", now)], ["3"], now)
        for later in (now, now + 500, now + 10_500):
            full = apply_live(offers, "personal", await state.snapshot("c1", later), ctx, "c1", later)
            overlay = apply_live(offers, "personal", await state.overlay("c1", later), ctx, "c1", later)
            assert overlay == full, (step, later)
