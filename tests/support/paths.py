"""Where things are: the repository root and the bundled Online Retail II year."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "data" / "online_retail_ii_2009_2010.parquet"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
