"""The one settings object of the service process, read from the environment once at start-up.

Every setting is `MICROOFFERS_<NAME>` in the environment; the Redis URL is also read from the
conventional `REDIS_URL`. Nothing else in the service reads `os.environ`.
"""

from __future__ import annotations

from datetime import time
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MICROOFFERS_", extra="ignore")

    artifacts: Path = Field(Path("artifacts"), description="train --out directory, or one version in it")
    redis_url: str | None = Field(
        None,
        validation_alias=AliasChoices("REDIS_URL", "MICROOFFERS_REDIS_URL"),
        description="Redis to read offers from; unset = embedded in-process store from the artifacts",
    )
    redis_timeout_s: float = Field(0.25, gt=0, description="a Redis call slower than this counts as down")
    redis_pool_size: int = Field(64, ge=1)
    api_key: SecretStr | None = Field(
        None, description="key(s) for writes and admin endpoints, comma-separated for rotation; unset = they are off"
    )
    access_log: bool = Field(True, description="one JSON line per request (route template, status, duration)")
    log_customer_ids: bool = Field(False, description="add a hash of the customer id to access-log lines")
    cors_origins: list[str] = Field(
        default_factory=list, description="browser origins allowed to call the API (JSON list); none by default"
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

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name like Europe/London)") from exc
        return value

    def api_keys(self) -> list[str]:
        """The accepted API keys (several while one is being rotated out)."""
        if self.api_key is None:
            return []
        return [k.strip() for k in self.api_key.get_secret_value().split(",") if k.strip()]


@lru_cache
def get_settings() -> Settings:
    return Settings()
