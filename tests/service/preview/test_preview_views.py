"""The preview's pure parts: evaluation tables from any metrics dict, freshness, segment sorting,
number formats, and purchase histories read from the artifact."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from models.contract.artifact import load_artifact
from models.contract.purchase_history import purchase_history
from service.preview.figures import FigureTable, SegmentFeedback, evaluation_tables, freshness
from service.preview.formatting import figure, percent, price_in, product
from service.preview.views import SegmentRow, sort_segments


def test_no_metrics_means_not_evaluated() -> None:
    assert evaluation_tables({}) == []


def test_a_flat_metrics_dict_is_one_row() -> None:
    assert evaluation_tables({"ndcg@10": 0.12, "recall@10": 0.3, "note": "text is not a figure"}) == [
        FigureTable("evaluation", ["ndcg@10", "recall@10"], [("value", [0.12, 0.3], "")])
    ]


def test_model_by_metric_tables_are_found_wherever_they_sit_with_baselines_marked() -> None:
    metrics = {
        "protocol": {"split": "last 28 days"},
        "summary": {"discovery": {"selected": "als", "lift": 0.3}},
        "metrics": {"discovery": {"als": {"ndcg@10": 0.07}, "popular": {"ndcg@10": 0.04, "recall@10": 0.1}}},
        "kinds": {"popular": "baseline"},
    }
    assert evaluation_tables(metrics) == [
        FigureTable("summary", ["selected", "lift"], [("discovery", ["als", 0.3], "")]),
        FigureTable(
            "metrics / discovery",
            ["ndcg@10", "recall@10"],
            [("als", [0.07, None], ""), ("popular", [0.04, 0.1], "baseline")],
        ),
    ]


def test_freshness_counts_days_since_the_newest_purchase() -> None:
    manifest = {
        "data_start": "2024-01-01 08:00:00",
        "data_end": "2024-05-30 20:01:00",
        "created_at": "2024-05-31T02:00:00+00:00",
    }
    fresh = freshness(manifest, today=date(2024, 5, 31))
    assert (fresh.data_start, fresh.data_end, fresh.age_days, fresh.fresh) == (
        date(2024, 1, 1),
        date(2024, 5, 30),
        1,
        True,
    )
    assert freshness(manifest, today=date(2024, 6, 30)).fresh is False
    assert freshness({}).age_days is None and freshness({}).fresh is False


def test_feedback_rates_are_per_impression_and_returns_per_purchase() -> None:
    figures = SegmentFeedback(impressions=200, clicks=10, purchases=4, returns=1)
    assert (figures.click_through, figures.conversion, figures.return_rate) == (0.05, 0.02, 0.25)
    nothing = SegmentFeedback(0, 0, 0, 0)
    assert (nothing.click_through, nothing.conversion, nothing.return_rate) == (None, None, None)


def _row(id: int, name: str, spend: float | None) -> SegmentRow:
    return SegmentRow(
        id, name, size=10 * id, description="", orders=None, spend=spend, recency_days=None, main_tier=None
    )


@pytest.mark.parametrize(
    ("sort", "descending", "expected"),
    [
        ("spend", True, [2, 0, 1]),
        ("spend", False, [0, 2, 1]),
        ("name", False, [2, 0, 1]),
        ("size", True, [2, 1, 0]),
    ],
)
def test_segments_sort_by_any_column_missing_figures_last(sort: str, descending: bool, expected: list[int]) -> None:
    rows = [_row(0, "beta", 5.0), _row(1, "Gamma", None), _row(2, "alpha", 9.0)]
    assert [r.id for r in sort_segments(rows, sort, descending)] == expected


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "–"),
        (0.0712, "0.0712"),
        (0.12345, "0.123"),
        (3.14159, "3.14"),
        (1234.5, "1,234"),
        (12, "12"),
        ("als", "als"),
        (True, "True"),
    ],
)
def test_evaluation_figures_keep_three_significant_digits(value: object, text: str) -> None:
    assert figure(value) == text


def test_shouting_titles_are_sentence_cased_and_others_kept() -> None:
    assert product("WHITE HANGING HEART T-LIGHT HOLDER") == "White hanging heart t-light holder"
    assert product("iPhone Case") == "iPhone Case"
    assert percent(0.075, 1) == "7.5%" and percent(None) == "–"


def test_purchase_history_matches_the_artifact_history(trained_artifacts: Path) -> None:
    artifact = load_artifact(trained_artifacts)
    for row in range(0, len(artifact.customers), 97):
        customer = str(artifact.customers.ids[row])
        history = purchase_history(artifact, customer)
        assert history is not None
        bought = artifact.history[row]
        assert {p.item_id for p in history} == {str(artifact.items.ids[i]) for i in bought.indices}
        assert sum(p.occasions for p in history) == int(np.asarray(bought.sum()))
        assert all(p.first <= p.last for p in history)
        assert [p.last for p in history] == sorted((p.last for p in history), reverse=True)
        assert all((p.interval_days is None) == (p.occasions == 1) for p in history)
    assert purchase_history(artifact, "not-a-customer") is None


@pytest.mark.parametrize(
    ("value", "currency", "shown"),
    [
        (2.55, "GBP", "£2.55"),
        (1234.5, "USD", "$1,234.50"),
        (2.55, "EUR", "2.55 EUR"),
        (2.55, None, "2.55"),
        (None, "GBP", "–"),
    ],
)
def test_prices_show_their_currency(value: float | None, currency: str | None, shown: str) -> None:
    assert price_in(value, currency) == shown
