"""Data without prices: loyalty tiers from orders and recency only, and no line about spend.

Before, missing prices became 0 spend for everyone, the VIP threshold became 0, and every
customer with enough orders was `vip` with "0 spent: among our top 5% customers"."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cli.main import app
from models.contract.artifact import Artifact, load_artifact
from models.rules.loyalty import RFM, why
from service.app import create_app
from service.settings import Settings
from tests.support.synthetic_shop import taste_shop, write_csv


def _train(tmp_path: Path, with_prices: bool) -> Path:
    frame = taste_shop(n_customers=60, days=120)
    if not with_prices:
        frame = frame.drop(columns="price")
    csv = write_csv(frame, tmp_path / "purchases.csv")
    out = tmp_path / "artifacts"
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--no-tune",
            "--force",
            "--segments",
            "4",
            "--min-segment-size",
            "5",
            "--purchases",
            str(csv),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def unpriced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _train(tmp_path_factory.mktemp("unpriced"), with_prices=False)


def _tiers(artifact: Artifact) -> list[str]:
    sf = artifact.storefront
    assert sf is not None
    return [sf.tier_name(row) for row in range(len(artifact.customers))]


def test_without_prices_no_customer_is_vip_and_loyal_ones_remain(unpriced: Path) -> None:
    artifact = load_artifact(unpriced)
    tiers = _tiers(artifact)
    assert artifact.storefront is not None and artifact.storefront.thresholds.priced is False
    assert "vip" not in tiers
    assert "loyal" in tiers  # regulars who order often are still recognised, by orders


def test_without_prices_no_why_line_or_segment_talks_about_spend(unpriced: Path) -> None:
    artifact = load_artifact(unpriced)
    sf = artifact.storefront
    assert sf is not None
    lines = {
        why(tier, RFM(float(r), int(o), float(s), float(t)))
        for tier, (r, o, s, t) in zip(_tiers(artifact), sf.rfm.tolist(), strict=True)
    }
    assert lines and not any("spent" in line or "spend" in line for line in lines)
    for seg in sf.segments:
        assert "spent" not in seg["description"] and " worth " not in seg["description"]
        assert "median_spend" not in seg["stats"]
    with TestClient(create_app(Settings(artifacts=unpriced))) as client:
        for customer in artifact.customers.ids[:20].tolist():
            loyalty = client.get(f"/personal-store/{customer}").json()["loyalty"]
            assert loyalty["tier"] != "vip" and "spent" not in loyalty["why"], loyalty


def test_the_same_shop_with_prices_has_vips(tmp_path: Path) -> None:
    """The control: the only difference is the price column, so spend is what made the VIPs."""
    artifact = load_artifact(_train(tmp_path, with_prices=True))
    assert artifact.storefront is not None and artifact.storefront.thresholds.priced is True
    assert "vip" in _tiers(artifact)
