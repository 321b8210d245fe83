"""App factories: settings with the test API key, a TestClient over them, and a new model version."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from fastapi.testclient import TestClient

from models.contract.artifact import resolve_version_dir
from service.app import create_app
from service.settings import Settings
from tests.support.keys import API_KEY


def settings_for(artifacts: Path, redis_url: str | None = None, **overrides: object) -> Settings:
    """Settings with the test key, no access log and a short Redis timeout (down is noticed quickly)."""
    values: dict[str, object] = {
        "artifacts": artifacts,
        "redis_url": redis_url,
        "api_key": API_KEY,
        "access_log": False,
        "redis_timeout_s": 0.2,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


def client_for(artifacts: Path, redis_url: str | None = None, **overrides: object) -> TestClient:
    return TestClient(create_app(settings_for(artifacts, redis_url, **overrides)))


def add_version(root: Path, suffix: str) -> Path:
    """A new complete version in `root`: a copy of the newest one under a later name (sorts
    after it) with its own manifest version, as a training run would have written it."""
    newest = resolve_version_dir(root)
    target = root / f"{newest.name}-{suffix}"
    shutil.copytree(newest, target)
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["version"] = target.name
    (target / "manifest.json").write_text(json.dumps(manifest))
    return target


RECOMMEND = "/recommend/{customer_id}"
STORE = "/personal-store/{customer_id}"


def answered(client: TestClient, route: str, by: str) -> float:
    """`microoffers_hot_path_answers_total` for one route and answerer (`hot_path` or `route`),
    from /metrics."""
    for line in client.get("/metrics").text.splitlines():
        if (
            line.startswith("microoffers_hot_path_answers_total{")
            and f'route="{route}"' in line
            and f'answered_by="{by}"' in line
        ):
            return float(line.rsplit(" ", 1)[1])
    return 0.0
