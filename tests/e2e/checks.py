"""The promises checked against what the model expects: one customer's answers (`check_seen`),
a never-seen twin's answers (`check_twin`), the CSV download, and what the store holds."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from tests.e2e.promises import expect, item_ids
from tests.e2e.surfaces import RedisContents, Seen
from tests.e2e.world import Expect
from tests.support.live import EMPTY_LIVE


def who(exp: Expect) -> str:
    state = "forgotten" if exp.forgotten else ("restored" if exp.hidden_versions else "")
    return f"{exp.role} ({exp.customer}{', ' + state if state else ''})"


def check_seen(seen: Seen, exp: Expect, served: str, titles: Mapping[str, str] | None = None) -> None:
    """Every promise about one customer that their own answers can show. `titles`: item ->
    title as the preview prints it, for items whose title no other item shares."""
    c = exp.customer
    answers = {
        f"GET /recommend/{c}": seen.recommend,
        f"GET /recommend/{c}?include_purchased=true": seen.recommend_all,
        f"GET /personal-store/{c}": seen.store,
        f"POST /recommend/batch result for {c}": seen.batch,
    }
    for surface, answer in answers.items():
        if answer is None:
            continue
        degraded = " (degraded: answered from the fallback)" if answer.get("degraded") else ""
        expect(
            answer["model_version"] == served,
            "served-version",
            surface,
            f"model_version {answer['model_version']} while {served} is served{degraded}",
        )
        expect(
            answer["source"] == exp.source,
            exp.source_promise,
            surface,
            f"source {answer['source']!r} for {who(exp)}, live purchases {sorted(exp.purchased)}{degraded}",
        )
    for item in sorted(exp.purchased):
        for surface, shown in seen.discovery().items():
            expect(item not in shown, "purchase-leaves-discovery", surface, f"{item}, bought by {who(exp)}, shown")
    for item in sorted(exp.suppressed):
        for surface, shown in seen.everywhere().items():
            expect(
                item not in shown, "suppressed-hidden-everywhere", surface, f"{item}, suppressed for {who(exp)}, shown"
            )
        if seen.preview is not None and titles and item in titles:
            expect(
                titles[item] not in seen.preview.store_titles,
                "suppressed-hidden-everywhere",
                f"GET /preview/customers?customer_id={c} (their store)",
                f"{item} ({titles[item]}), suppressed for {who(exp)}, shown",
            )
    if seen.outbound is not None and exp.forgotten:
        expect(
            seen.outbound.status == 204 and seen.outbound.reason == "forgotten",
            "forgotten-outbound-204",
            f"GET /outbound/{c}?dry_run=true",
            f"{seen.outbound.status}, reason {seen.outbound.reason!r}",
        )
    if seen.export is not None:
        check_export(seen.export, exp)
    if seen.preview is not None and (exp.forgotten or exp.hidden_in_loaded):
        expect(
            seen.preview.history_rows == 0,
            "forgotten-out-of-preview" if exp.forgotten else "erased-stays-erased",
            f"GET /preview/customers?customer_id={c}",
            f"{seen.preview.history_rows} purchase-history rows",
        )


def check_twin(seen: Seen, twin: Seen, exp: Expect) -> None:
    """A forgotten customer, or a restored one no served or loaded version may show, is answered
    exactly like a never-seen id with the same events (`twin`, with the same query)."""
    promise = "forgotten-popular" if exp.forgotten else "erased-stays-erased"
    like = f"never-seen {twin.customer}" + (f" with the same {len(exp.mirror or ())} events" if exp.mirror else "")
    c = exp.customer
    pairs = [
        (f"GET /recommend/{c}", seen.recommend, twin.recommend),
        (f"GET /recommend/{c}?include_purchased=true", seen.recommend_all, twin.recommend_all),
    ]
    for surface, mine, theirs in pairs:
        if mine is not None and theirs is not None:
            expect(
                item_ids(mine["items"]) == item_ids(theirs["items"]),
                promise,
                surface,
                f"{who(exp)} got {item_ids(mine['items'])}, {like} got {item_ids(theirs['items'])}",
            )
    if seen.store is not None and twin.store is not None:
        mine_store = [(s["id"], item_ids(s["items"])) for s in seen.store["sections"]]
        their_store = [(s["id"], item_ids(s["items"])) for s in twin.store["sections"]]
        expect(
            mine_store == their_store,
            promise,
            f"GET /personal-store/{c}",
            f"{who(exp)} got {mine_store}, {like} got {their_store}",
        )


def check_export(body: Mapping[str, Any], exp: Expect) -> None:
    surface = f"GET /customers/{exp.customer}/export"
    if exp.forgotten:
        got = {
            "forgotten": body["forgotten"],
            "training": body["training"],
            "cached": body["cached"],
            "segment": body["segment"],
            "live": body["live"],
        }
        wanted: dict[str, Any] = {
            "forgotten": True,
            "training": None,
            "cached": [],
            "segment": None,
            "live": EMPTY_LIVE,
        }
        expect(
            got == wanted,
            "forgotten-export-empty",
            surface,
            ", ".join(f"{k}={got[k]!r:.200}" for k in got if got[k] != wanted[k]),
        )
        return
    expect(body["forgotten"] is False, "deny-list", surface, f"forgotten={body['forgotten']!r} for {who(exp)}")
    erased = bool(exp.hidden_versions)
    live = body["live"]
    events = tuple((e["item_id"], e["type"]) for e in live["events"])
    expect(
        events == exp.events,
        "erased-stays-erased" if erased and len(events) > len(exp.events) else "export-tells-live-state",
        surface,
        f"live events {events}, accepted {exp.events}",
    )
    expect(
        live["purchases"] == exp.purchase_counts,
        "export-tells-live-state",
        surface,
        f"live purchases {live['purchases']}, accepted {exp.purchase_counts}",
    )
    suppressed = set(live["suppressed"]) - exp.unsure
    expect(
        suppressed == exp.suppressed - exp.unsure,
        "export-tells-live-state",
        surface,
        f"suppressed {sorted(suppressed)}, expected {sorted(exp.suppressed)}",
    )
    cached = sorted({d["model_version"] for d in body["cached"]} & exp.hidden_versions)
    expect(not cached, "erased-stays-erased", surface, f"cached documents of {who(exp)} from erased versions {cached}")
    segment = body["segment"]
    expect(
        segment is None or segment["model_version"] not in exp.hidden_versions,
        "erased-stays-erased",
        surface,
        f"segment {segment} of {who(exp)} from an erased version",
    )
    training = body["training"]
    if exp.hidden_in_loaded and training is not None:
        shown = {k: training[k] for k in ("known", "purchases", "folded_events") if training[k]}
        expect(not shown, "erased-stays-erased", surface, f"training data of {who(exp)}: {str(shown)[:300]}")


def check_offer_rows(rows: list[dict[str, str]], hidden: Mapping[str, Expect], surface: str) -> None:
    """No CSV row of a customer whose rows in the loaded version must not show."""
    listed = Counter(row["customer_id"] for row in rows)
    for customer, exp in hidden.items():
        expect(
            not listed[customer],
            "forgotten-out-of-csv" if exp.forgotten else "erased-stays-erased",
            surface,
            f"{listed[customer]} rows of {who(exp)}",
        )


def check_samples(samples: Mapping[int, list[str]], hidden: Mapping[str, Expect]) -> None:
    """GET /segments/{id} of the served version lists no one whose rows in it must not show."""
    for segment, sample in samples.items():
        for customer, exp in hidden.items():
            expect(
                customer not in sample,
                "forgotten-out-of-store" if exp.forgotten else "erased-stays-erased",
                f"GET /segments/{segment}",
                f"{who(exp)} in sample_customers",
            )


def check_log(logged: Counter[str], exps: list[Expect], surface: str) -> None:
    for exp in exps:
        expect(
            logged[exp.customer] == len(exp.events),
            "forgotten-out-of-store" if exp.forgotten else "log-holds-accepted-events",
            surface,
            f"{logged[exp.customer]} entries of {who(exp)}, {len(exp.events)} accepted since the last erasure",
        )


def check_deny_list(deny: frozenset[str], exps: list[Expect], surface: str, redis_set: bool = False) -> None:
    for exp in exps:
        wanted = exp.denied_in_redis if redis_set else exp.forgotten
        if wanted is not None:
            expect(
                (exp.customer in deny) == wanted,
                "deny-list",
                surface,
                f"{who(exp)} {'missing' if wanted else 'still listed'}",
            )


def check_redis(contents: RedisContents, exps: list[Expect], served: str) -> None:
    """What Redis itself holds: nothing naming a forgotten customer, no document or sample place
    of a restored one in a version that must not show them, the log, the deny set, mo:current."""
    expect(contents.current == served, "served-version", "Redis mo:current", f"{contents.current}, expected {served}")
    check_log(contents.logged, exps, "Redis stream mo:events")
    check_deny_list(contents.forgotten, exps, "Redis set mo:forgotten", redis_set=True)
    for exp in exps:
        documents = contents.documents_of(exp.customer)
        if exp.forgotten:
            docs = sorted(k for keys in documents.values() for k in keys)
            expect(not docs, "forgotten-out-of-store", "Redis keys mo:v:*", f"{who(exp)}: {docs}")
            others = sorted(set(contents.naming(exp.customer)) - set(docs))
            expect(not others, "forgotten-not-recorded", "Redis keys", f"{who(exp)}: {others}")
        else:
            erased = sorted(k for v, keys in documents.items() if v in exp.hidden_versions for k in keys)
            expect(not erased, "erased-stays-erased", "Redis keys mo:v:*", f"{who(exp)}: {erased}")
        for key, sample in contents.samples.items():
            version = key.split(":")[2]
            if exp.customer in sample and version in exp.hidden_versions:
                expect(
                    False,
                    "forgotten-out-of-store" if exp.forgotten else "erased-stays-erased",
                    f"Redis {key}",
                    f"{who(exp)} in sample_customers",
                )
