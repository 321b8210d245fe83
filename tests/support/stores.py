"""The two stores the API runs over, as fixture parameters, and a Redis with one artifact published."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from models.contract.artifact import Artifact, load_artifact
from training.publish import publish

# The Redis parameter carries the marker: the fixture fetches the server with getfixturevalue,
# which collection cannot see.
STORES = [pytest.param("embedded"), pytest.param("redis", marks=pytest.mark.redis)]


def publish_fresh(url: str, artifact: Artifact | Path) -> None:
    """Empty the database at `url` and publish `artifact` (or the newest version under a path) into it."""
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
        publish(artifact if isinstance(artifact, Artifact) else load_artifact(artifact), client)
    finally:
        client.close()
