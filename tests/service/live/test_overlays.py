"""The overlay rules on their own, without HTTP."""

from __future__ import annotations

from models.contract import Offer
from models.contract.artifact import Artifact
from service.core.personalize import Personalizer
from service.live import EmbeddedLiveState, LivePolicy, LiveSnapshot, Shown
from service.live.overlays import LiveContext, apply_live

POLICY = LivePolicy(cap_impressions=2, cap_window_ms=1_000)


def _context(artifact: Artifact, horizon_ms: int = 0) -> LiveContext:
    personalizer = Personalizer(artifact)
    personalizer.horizon_ms = horizon_ms
    return LiveContext(EmbeddedLiveState(POLICY, None), personalizer, POLICY, similar_pushdown=5)


def test_purchases_the_model_already_has_do_not_trigger_fold_in(artifact: Artifact) -> None:
    popular = [Offer(str(i), 1.0) for i in artifact.items.ids[:20]]
    item = str(artifact.items.ids[artifact.history[0].indices[0]])
    snapshot = LiveSnapshot(purchases={item: (1, 5_000)})
    offers, source = apply_live(popular, "popular", snapshot, _context(artifact, horizon_ms=5_000), "new", 0)
    assert source == "popular" and [o.item_id for o in offers] == [o.item_id for o in popular]
    assert {o.item_id for o in offers if o.bought} == ({item} & {o.item_id for o in popular})
    offers, source = apply_live(popular, "popular", snapshot, _context(artifact, horizon_ms=4_999), "new", 0)
    assert source == "personal" and len(offers) >= 20


def test_capped_items_move_behind_until_the_window_passes(artifact: Artifact) -> None:
    offers = [Offer("a", 0.9), Offer("b", 0.8), Offer("c", 0.7)]
    snapshot = LiveSnapshot(shown={"a": Shown(since_ms=0, count=2)})
    ranked, _ = apply_live(offers, "personal", snapshot, _context(artifact), "x", now_ms=1_000)
    assert [o.item_id for o in ranked] == ["b", "c", "a"]
    ranked, _ = apply_live(offers, "personal", snapshot, _context(artifact), "x", now_ms=1_001)
    assert [o.item_id for o in ranked] == ["a", "b", "c"]


def test_no_live_state_returns_the_candidates_untouched(artifact: Artifact) -> None:
    offers = [Offer("a", 0.9, True), Offer("b", 0.8)]
    assert apply_live(offers, "personal", LiveSnapshot(), _context(artifact), "x", 0) == (offers, "personal")
