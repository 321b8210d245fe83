"""The one writer of impressions to Redis, for the routes and the hot path alike.

An answer's impressions reach Redis two ways: from the routes (a background task after the
response, through redis-py) and from the hot path (with the next tick's pipeline, on a
connection of its own). Both send what `ImpressionsWriter.commands` builds, so the same answer
leaves the same Redis state whichever path served it: the `IMPRESSIONS` script for answers with
items below the cap (answers whose every item was already at the cap have nothing per customer
to write, see `Impressions.capped`), and a `HINCRBY` of the feedback counters for all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Sequence

from redis.exceptions import NoScriptError

from models import contract
from service.live.scripts import FIELD_SEPARATOR, IMPRESSIONS, IMPRESSIONS_SHA
from service.live.state import Impressions, LivePolicy, feedback_field

Command = Sequence[bytes | str | int]  # as `service.hotpath.resp` sends it
Encoded = tuple[Impressions, str]  # impressions with their `encode_impressions`
NodeOf = Callable[[str], Hashable]  # a key's cluster node (the hot path's cluster connection knows them)


class MissingScriptError(Exception):
    """Redis did not hold the script (restarted, `SCRIPT FLUSH`): send the impressions again."""


def encode_impressions(shown: Impressions) -> str:
    """One customer's argument of the impressions script (the hot path keeps it with a cached
    answer, so a repeated answer costs no encoding)."""
    written = (i for i in shown.item_ids if i not in shown.capped)
    return FIELD_SEPARATOR.join(
        (shown.customer_id, shown.source, shown.section, shown.segment, str(len(shown.capped)), *written)
    )


def writes_items(shown: Impressions) -> bool:
    """Some item of the answer was below the cap: the script writes its count."""
    return len(shown.capped) < len(shown.item_ids)


class ImpressionsWriter:
    """Builds the commands that record impressions and learns from their replies whether Redis
    holds the script (one writer per Redis: the live state's, which the hot path uses too)."""

    def __init__(self, policy: LivePolicy) -> None:
        self.policy = policy
        self.script_loaded = False  # Redis has run the script's source: EVALSHA from then on

    def commands(self, shown: Sequence[Encoded], now_ms: int, node_of: NodeOf | None = None) -> list[Command]:
        """One script call for the answers with an item below the cap (one per node of
        `node_of`, on a cluster: its one declared key, a customer's on that node, routes it),
        then one `HINCRBY` per feedback cell for every answer (runs
        per tick over all of its answers: the cap tests are written out, not called)."""
        commands: list[Command] = []
        written = [(i, encoded) for i, encoded in shown if len(i.capped) < len(i.item_ids)]
        if written:
            p = self.policy
            head = ("EVALSHA", IMPRESSIONS_SHA) if self.script_loaded else ("EVAL", IMPRESSIONS)
            args = (
                now_ms,
                p.cap_window_ms,
                p.cap_impressions,
                p.ttl_s,
                contract.LIVE_PREFIX,
                contract.FORGOTTEN_MARKER_PREFIX,
            )
            groups: dict[Hashable, tuple[list[str], list[str]]] = {}
            for impressions, encoded in written:
                key = contract.LIVE_KEY % (impressions.customer_id, "shown")
                keys, values = groups.setdefault(node_of(key) if node_of else None, ([], []))
                keys.append(key)
                values.append(encoded)
            commands += [(*head, 1, keys[0], *args, *values) for keys, values in groups.values()]
        counted = Counter[str]()
        for impressions, _ in shown:
            if impressions.item_ids:
                cell = feedback_field("impression", impressions.source, impressions.section, impressions.segment)
                counted[cell] += len(impressions.item_ids)
        commands += [("HINCRBY", contract.FEEDBACK_COUNTS_KEY, cell, n) for cell, n in counted.items()]
        return commands

    def again(self, commands: Sequence[Command], replies: Sequence[object]) -> list[Command]:
        """The script calls of `commands` that met a Redis (node) without the script, with its
        source (the counters sent beside them were counted: not sent twice)."""
        return [("EVAL", IMPRESSIONS, *c[2:]) for c, r in zip(commands, replies) if _missing_script(r)]

    def settle(self, commands: Sequence[Command], replies: Sequence[object]) -> Exception | None:
        """After `commands` ran: None when every reply is a success, else the first error (a
        `MissingScriptError` when Redis lacked the script; the next commands carry its source).
        redis-py turns NOSCRIPT into `NoScriptError`; the hot path's connection keeps the text."""
        errors = [reply for reply in replies if isinstance(reply, Exception)]
        if not errors:
            if commands and commands[0][0] == "EVAL":
                self.script_loaded = True
            return None
        if any(_missing_script(error) for error in errors):
            self.script_loaded = False
            return MissingScriptError(str(errors[0]))
        return errors[0]


def _missing_script(reply: object) -> bool:
    return isinstance(reply, NoScriptError) or (isinstance(reply, Exception) and str(reply).startswith("NOSCRIPT"))
