"""Segment names and descriptions write product titles with `models.rules.wording.product_title`:
before, `str.title()` named a segment "... · Poppy'S Playhouse Bedroom Kit"."""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.storefront.segment_profiles import ItemInfo, describe_segments


def test_segment_names_and_descriptions_use_it() -> None:
    n = 12
    profiles = pd.DataFrame(
        {
            "recency_days": 5.0,
            "orders": 4,
            "spend": 100.0,
            "tenure_days": 200.0,
            "items_per_order": 3.0,
            "order_value": 25.0,
            "country": "United Kingdom",
        },
        index=range(n),
    )
    buyers = np.array([[2, 10, 1]])  # item 1 is the top product and the only one bought by 3+
    items = ItemInfo(
        np.array(["a", "b", "c"]),
        np.array(["WHITE HANGING HEART T-LIGHT HOLDER", "POPPY'S PLAYHOUSE BEDROOM KIT", "X"]),
        np.array([None, None, None]),
    )
    [segment] = describe_segments(
        np.zeros(n, dtype=int),
        profiles,
        np.zeros(n, dtype=np.int8),
        buyers,
        items,
        np.array([f"c{i}" for i in range(n)]),
    )
    assert segment["name"].endswith("Poppy's Playhouse Bedroom Kit")
    assert "Poppy's Playhouse Bedroom Kit (83%), White Hanging Heart T-Light (17%)" in segment["description"]
    assert "'S" not in segment["name"] + segment["description"]
