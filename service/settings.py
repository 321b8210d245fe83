"""The one settings object of the service process, read from the environment once at start-up.

Every setting is `MICROOFFERS_<NAME>` in the environment; the Redis URL is also read from the
conventional `REDIS_URL`. Nothing else in the service reads `os.environ`.
"""

from __future__ import annotations

import hashlib
import re
from datetime import time
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.rules.contact import rest_day_overrides
from service.preview.passwords import check_encoded

PUBLISHABLE_PREFIX = "pk_"
BASIC_USER = "marketer"  # the preview's HTTP Basic user for scripts (password: an admin key)
MARKETER_NAME = re.compile(r"^[a-z][a-z0-9_.-]{0,31}$")
ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")


class Settings(BaseSettings):
    # hide_input_in_errors: a refused setting is named, its value (maybe a key) never printed
    model_config = SettingsConfigDict(env_prefix="MICROOFFERS_", extra="ignore", hide_input_in_errors=True)

    artifacts: Path = Field(Path("artifacts"), description="train --out directory, or one version in it")
    redis_url: str | None = Field(
        None,
        validation_alias=AliasChoices("REDIS_URL", "MICROOFFERS_REDIS_URL"),
        description="Redis to read offers from; unset = embedded in-process store from the artifacts",
    )
    redis_timeout_s: float = Field(0.25, gt=0, description="a Redis call slower than this counts as down")
    redis_pool_size: int = Field(64, ge=1)
    api_key: SecretStr | None = Field(
        None, description="admin key(s): every keyed endpoint, comma-separated for rotation; unset = they are off"
    )
    events_keys: SecretStr | None = Field(
        None, description="publishable `pk_...` key(s) a browser may hold: POST /events only, comma-separated"
    )
    events_key_rate_per_s: float = Field(200, gt=0, description="POST /events per second per publishable key")
    events_key_burst: int = Field(1000, ge=1, description="POST /events per publishable key allowed at once")
    events_ip_rate_per_s: float = Field(5, gt=0, description="POST /events per second per client IP (publishable key)")
    events_ip_burst: int = Field(50, ge=1, description="POST /events per client IP allowed at once (publishable key)")
    auth_failure_limit: int = Field(10, ge=1, description="wrong credentials from one client IP before it gets 429")
    auth_failure_window_s: float = Field(300, gt=0, description="the window those failures are counted in")
    marketers: SecretStr | None = Field(
        None, description="preview users `name:scrypt$...` (`microoffers marketer-hash`), comma-separated"
    )
    session_secret: SecretStr | None = Field(
        None, description="signs preview sessions and form tokens; default derived from the keys and marketers"
    )
    session_ttl_s: int = Field(8 * 3600, ge=60, le=30 * 86_400, description="a preview sign-in lasts this long")
    access_log: bool = Field(True, description="one JSON line per request (route template, status, duration)")
    log_customer_ids: bool = Field(False, description="add a hash of the customer id to access-log lines")
    cors_origins: list[str] = Field(
        default_factory=list,
        description="browser origins allowed to call POST /events and the public reads (JSON list); none by default",
    )
    write_rate_per_s: float = Field(50, gt=0, description="write/admin requests per second per API key (average)")
    write_burst: int = Field(100, ge=1, description="write/admin requests per API key allowed at once")
    max_body_bytes: int = Field(1 << 20, ge=1024, description="larger request bodies are refused with 413")
    reload_interval_s: float = Field(
        0, ge=0, description="poll the artifacts for a new version this often and reload it; 0 = off"
    )
    forgotten_file: Path | None = Field(
        None, description="deny list of forgotten customers; default <artifacts root>/privacy/forgotten.txt"
    )
    hot_path: bool = Field(
        True, description="answer plain /recommend and /personal-store reads on the batched hot path (Redis only)"
    )
    hot_path_cache_size: int = Field(100_000, ge=0, description="customers whose answers each worker keeps per version")
    rules_dir: Path | None = Field(
        None, description="business rules and their audit log without Redis; default <artifacts root>/rules"
    )
    rules_refresh_s: float = Field(
        1.0, gt=0, description="how often each worker checks the stored business rules for a change"
    )
    shutdown_timeout_s: int = Field(20, ge=1, description="on SIGTERM, wait this long for requests in flight")

    # Real-time feedback: POST /events, live overlays, frequency capping, outbound contact policy.
    events_max_batch: int = Field(500, ge=1, le=10_000, description="most events in one POST /events")
    events_max_future_s: float = Field(300, ge=0, description="how far past the clock an event time may lie")
    events_log: Path | None = Field(
        None, description="embedded store's append-only event log; default <artifacts>/events/events.jsonl"
    )
    dismiss_suppress_s: float = Field(7 * 86_400, gt=0, description="how long a dismissed item stays hidden")
    cap_impressions: int = Field(5, ge=1, description="shown this often in the window without a click: rotate down")
    cap_window_s: float = Field(86_400, gt=0, description="frequency capping window")
    similar_pushdown: int = Field(20, ge=0, description="neighbours of a returned/complained item pushed down")
    live_ttl_s: int = Field(90 * 86_400, ge=60, description="idle customer's live state expires after this")
    quiet_hours_start: time = Field(time(21, 0), description="outbound quiet hours start (customer's local time)")
    quiet_hours_end: time = Field(time(9, 0), description="outbound quiet hours end (customer's local time)")
    min_contact_interval_s: float = Field(3 * 86_400, ge=0, description="least time between two outbound contacts")
    default_timezone: str = Field("Europe/London", description="time zone of customers whose country is unknown")
    contact_rest_days: bool = Field(True, description="no outbound on the country's weekly rest days")
    contact_holidays: bool = Field(True, description="no outbound on the country's public holidays")
    contact_rest_day_overrides: dict[str, list[str]] = Field(
        default_factory=dict,
        description='rest days per country instead of the built-in table (JSON: {"Saudi Arabia": ["fri"], "GB": []})',
    )

    # Complaints and returns POSTed to a webhook (service.core.complaint_webhook)
    complaint_webhook_url: str | None = Field(
        None, description="http(s) URL that receives each complaint and return event; unset = none sent"
    )
    complaint_webhook_secret: SecretStr | None = Field(None, description="HMAC-SHA256 key of the signature header")
    complaint_webhook_retries: int = Field(5, ge=0, le=20, description="attempts after the first one")
    complaint_webhook_backoff_s: float = Field(1.0, gt=0, description="wait before the first retry; doubles each time")
    complaint_webhook_timeout_s: float = Field(5.0, gt=0, description="one attempt's time limit")
    complaint_webhook_drain_s: float = Field(5.0, ge=0, description="on shutdown, keep delivering this long")

    catalog_currency: str | None = Field(
        "GBP",
        pattern=r"^[A-Z]{3}$",
        description="the preview's currency for prices whose catalog row names none (the bundled shop's: GBP)",
    )

    # Campaigns (kept in Redis with a Redis store, else in this file)
    campaigns_file: Path | None = Field(
        None, description="embedded store's campaigns; default <artifacts root>/campaigns/campaigns.json"
    )

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name like Europe/London)") from exc
        return value

    @field_validator("cors_origins")
    @classmethod
    def _plain_origins(cls, origins: list[str]) -> list[str]:
        """Origins only (`https://shop.example`): never `*`, which would let any site's page post
        with the publishable key, and no paths, which browsers never send."""
        for origin in origins:
            if not ORIGIN.fullmatch(origin):
                raise ValueError(f"{origin!r} is not an origin like https://shop.example (no `*`, no path)")
        return origins

    @field_validator("marketers")
    @classmethod
    def _known_hash_format(cls, value: SecretStr | None) -> SecretStr | None:
        seen: set[str] = set()
        for entry in _split(value):
            name, sep, encoded = entry.partition(":")
            if not sep or not MARKETER_NAME.fullmatch(name):
                raise ValueError("each marketer is `name:hash`, name of 1-32 lowercase letters, digits and _ . -")
            if name == BASIC_USER:
                raise ValueError(f"marketer {name!r} is reserved: HTTP Basic signs in as it with an admin key")
            if name in seen:
                raise ValueError(f"marketer {name!r} is given twice")
            try:
                check_encoded(encoded)
            except ValueError as exc:
                raise ValueError(f"marketer {name!r}: {exc} (make one with `microoffers marketer-hash`)") from None
            seen.add(name)
        return value

    @model_validator(mode="after")
    def _scopes_apart(self) -> Settings:
        """A publishable key is public by design: it must look like one, and never be an admin key."""
        admin, events = self.api_keys(), self.events_keys_list()
        if any(not key.startswith(PUBLISHABLE_PREFIX) or len(key) < 16 for key in events):
            raise ValueError(f"events_keys: each key starts with {PUBLISHABLE_PREFIX} and has 16 characters or more")
        if any(key.startswith(PUBLISHABLE_PREFIX) for key in admin):
            raise ValueError(f"api_key: an admin key must not start with {PUBLISHABLE_PREFIX} (that marks public keys)")
        return self

    @field_validator("contact_rest_day_overrides")
    @classmethod
    def _known_rest_days(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        rest_day_overrides(value)  # raises ValueError naming the country or day
        return value

    @field_validator("complaint_webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {value!r}")
        return value.strip()

    @model_validator(mode="after")
    def _webhook_signed(self) -> Settings:
        if self.complaint_webhook_url and not (
            self.complaint_webhook_secret and self.complaint_webhook_secret.get_secret_value()
        ):
            raise ValueError("MICROOFFERS_COMPLAINT_WEBHOOK_SECRET must be set with MICROOFFERS_COMPLAINT_WEBHOOK_URL")
        return self

    def api_keys(self) -> list[str]:
        """The admin keys (several while one is being rotated out)."""
        return _split(self.api_key)

    def events_keys_list(self) -> list[str]:
        """The publishable events-only keys."""
        return _split(self.events_keys)

    def marketer_hashes(self) -> dict[str, str]:
        """Preview user name -> its scrypt hash."""
        return dict(entry.partition(":")[::2] for entry in _split(self.marketers))

    def preview_secret(self, purpose: str) -> bytes:
        """The key of one use (`session`, `csrf`): every worker derives the same one, and changing
        a key or a marketer (or the session secret) invalidates what was signed with the old."""
        if self.session_secret is not None:
            material = [self.session_secret.get_secret_value()]
        else:
            material = [*self.api_keys(), *_split(self.marketers)]
        return hashlib.sha256("\n".join([f"microoffers-preview-{purpose}", *material]).encode()).digest()


def _split(value: SecretStr | None) -> list[str]:
    if value is None:
        return []
    return [part.strip() for part in value.get_secret_value().split(",") if part.strip()]


@lru_cache
def get_settings() -> Settings:
    return Settings()
