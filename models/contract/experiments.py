"""Online experiments as writer and reader share them: the definition, where it lives in Redis,
how a customer is bucketed, and the recommendation id every answer carries.

An experiment splits customers between variants by a salted hash of their id (the salt is the
experiment's own, kept in its definition), so every worker and every restart puts a customer
in the same variant, and two experiments split independently. A variant serves a published
model version (`version`, None = whatever `mo:{ctl}:current` names) under a serving policy:
`personal` (the usual answers) or `popular` (the hold-out: best-sellers only, nothing personal).

A recommendation id is a compact token, not a database key: it spells out the model version,
the experiment and variant, the surface (`recommend`, `batch`, a store section, `similar`,
`outbound`), the UTC day and a short hash of the customer (or item), so an event carrying it is
attributed without a lookup. It is deterministic for those fields: the same customer sees the
same id on the same surface all day, which keeps the hot path's per-version answer cache (and
its byte-for-byte parity with the routes) intact, and costs attribution nothing, because a
variant is all an experiment needs to know.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import asdict, dataclass, field, replace
from typing import Literal, NamedTuple, get_args

from models.contract import CONTROL, PREFIX, decode_json, encode_json

Policy = Literal["personal", "popular"]
POLICIES: tuple[str, ...] = get_args(Policy)
HOLDOUT = "holdout"  # the usual name of the popular-only variant

EXPERIMENTS_KEY = f"{CONTROL}:experiments"  # hash id -> definition JSON (running and stopped)
RUNNING_KEY = f"{CONTROL}:experiment:running"  # the running experiment's definition (read per request)
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"
_NAME = re.compile(NAME_PATTERN)
_ID_PREFIX = "r1"
_SEPARATOR = "|"
TAG_CHARS = 8


@dataclass(frozen=True)
class Variant:
    name: str
    version: str | None = None  # None: the served version (mo:{ctl}:current) at the time of each answer
    policy: Policy = "personal"
    weight: float = 1.0

    @property
    def follows_current(self) -> bool:
        return self.version is None


@dataclass(frozen=True)
class Experiment:
    id: str
    salt: str
    variants: tuple[Variant, ...]
    started_ms: int
    stopped_ms: int | None = None
    alpha: float = 0.05  # the sequential test's false-positive rate, however often one looks
    mixture_sd: float = 0.01  # the mSPRT's prior spread of the conversion difference (absolute)
    description: str = ""
    variant_names: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _cumulative: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        total = sum(v.weight for v in self.variants)
        running, cuts = 0.0, []
        for v in self.variants:
            running += v.weight / total
            cuts.append(running)
        object.__setattr__(self, "variant_names", tuple(v.name for v in self.variants))
        object.__setattr__(self, "_cumulative", tuple(cuts))

    @property
    def running(self) -> bool:
        return self.stopped_ms is None

    @property
    def control(self) -> Variant:
        """The first variant: every difference is measured against it."""
        return self.variants[0]

    def shares(self) -> dict[str, float]:
        total = sum(v.weight for v in self.variants)
        return {v.name: v.weight / total for v in self.variants}

    def variant(self, name: str) -> Variant | None:
        return next((v for v in self.variants if v.name == name), None)

    def assign(self, customer_id: str) -> Variant:
        """The customer's variant: the same for the same salt, whoever asks."""
        u = bucket_point(self.salt, customer_id)
        for variant, cut in zip(self.variants, self._cumulative, strict=True):
            if u < cut:
                return variant
        return self.variants[-1]

    def versions(self) -> set[str]:
        """The published versions this experiment serves by name (publish must keep them)."""
        return {v.version for v in self.variants if v.version is not None}

    def stopped(self, at_ms: int) -> Experiment:
        return replace(self, stopped_ms=at_ms)

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "salt": self.salt,
            "variants": [asdict(v) for v in self.variants],
            "started_ms": self.started_ms,
            "stopped_ms": self.stopped_ms,
            "alpha": self.alpha,
            "mixture_sd": self.mixture_sd,
            "description": self.description,
        }

    def encode(self) -> bytes:
        return encode_json(self.to_json())

    @classmethod
    def decode(cls, raw: bytes | str) -> Experiment:
        doc = decode_json(raw)
        assert isinstance(doc, dict)
        variants = tuple(Variant(**v) for v in doc.pop("variants"))
        return cls(variants=variants, **doc)


def check_variants(variants: tuple[Variant, ...]) -> None:
    """Raises ValueError naming what is wrong with a list of variants."""
    if len(variants) < 2:
        raise ValueError("an experiment needs at least two variants")
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise ValueError(f"variant names must differ: {names}")
    for v in variants:
        if not _NAME.fullmatch(v.name):
            raise ValueError(f"variant name {v.name!r} must match {NAME_PATTERN}")
        if v.policy not in POLICIES:
            raise ValueError(f"variant {v.name}: policy must be one of {POLICIES}")
        if not 0 < v.weight <= 1000:
            raise ValueError(f"variant {v.name}: weight must lie in (0, 1000]")


def bucket_point(salt: str, customer_id: str) -> float:
    """A uniform number in [0, 1) from the salted SHA-256 of the customer id."""
    digest = hashlib.sha256(f"{salt}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


# --- where an experiment's results live (Redis; the embedded store mirrors them in memory) ---


def counts_key(experiment_id: str) -> str:
    """Hash "<variant>|<metric>" -> total (impressions, clicks, purchases, returns, revenue_cents)."""
    return f"{PREFIX}:exp:{experiment_id}:counts"


def per_customer_key(experiment_id: str, what: str, variant: str) -> str:
    """Hash customer -> value: `exposed` and `converted` hold the UTC day (days since the epoch)
    it first happened, `revenue` the customer's attributed revenue in cents."""
    return f"{PREFIX}:exp:{experiment_id}:{what}:{variant}"


PER_CUSTOMER = ("exposed", "converted", "revenue")


def experiment_keys(experiment: Experiment) -> list[str]:
    return [counts_key(experiment.id)] + [
        per_customer_key(experiment.id, what, v) for what in PER_CUSTOMER for v in experiment.variant_names
    ]


# --- recommendation ids ---


class RecommendationId(NamedTuple):
    version: str
    experiment: str  # "" outside an experiment
    variant: str  # "" outside an experiment
    surface: str
    day: int  # UTC days since the epoch
    tag: str  # `subject_tag` of the customer (or item) the answer was for

    def encode(self) -> str:
        text = _SEPARATOR.join((self.version, self.experiment, self.variant, self.surface, str(self.day), self.tag))
        return _ID_PREFIX + base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()

    def is_for(self, subject: str) -> bool:
        return self.tag == subject_tag(subject)


def subject_tag(subject: str) -> str:
    return hashlib.sha256(subject.encode()).hexdigest()[:TAG_CHARS]


def recommendation_id(version: str, experiment: str, variant: str, surface: str, day: int, subject: str) -> str:
    return RecommendationId(version, experiment, variant, surface, day, subject_tag(subject)).encode()


def decode_recommendation_id(token: str) -> RecommendationId:
    """Raises ValueError for anything `RecommendationId.encode` did not write."""
    if not token.startswith(_ID_PREFIX) or len(token) > 400:
        raise ValueError("not a recommendation id")
    body = token[len(_ID_PREFIX) :]
    try:
        text = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("not a recommendation id") from exc
    parts = text.split(_SEPARATOR)
    if len(parts) != 6 or not parts[4].isdigit() or len(parts[5]) != TAG_CHARS:
        raise ValueError("not a recommendation id")
    version, experiment, variant, surface, day, tag = parts
    return RecommendationId(version, experiment, variant, surface, int(day), tag)
