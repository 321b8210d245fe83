"""The one settings object of the service process, read from the environment once at start-up.

Every setting is `MICROOFFERS_<NAME>` in the environment; the Redis URL is also read from the
conventional `REDIS_URL`. Nothing else in the service reads `os.environ`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
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
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1)
    api_key: SecretStr | None = Field(None, description="key for writes and admin endpoints; unset = they are off")
    log_level: str = "INFO"
    access_log: bool = Field(True, description="one JSON line per request (route template, status, duration)")
    log_customer_ids: bool = Field(False, description="add a hash of the customer id to access-log lines")
    cors_origins: list[str] = Field(
        default_factory=list, description='browser origins allowed to call the API (JSON list); none by default'
    )

    def api_keys(self) -> list[str]:
        """The accepted API keys (several while one is being rotated out)."""
        if self.api_key is None:
            return []
        return [k.strip() for k in self.api_key.get_secret_value().split(",") if k.strip()]


@lru_cache
def get_settings() -> Settings:
    return Settings()
