"""Reports render exactly the numbers of the result dict."""

from __future__ import annotations

from typing import Any

from training.evaluation.report import render_html, render_markdown

METRICS = {
    "ndcg@5": 0.25,
    "recall@5": 0.5,
    "map@5": 0.125,
    "hitrate@5": 1.0,
    "coverage@5": 0.1,
    "popularityrank@5": 12.0,
}


def result(segments: bool) -> dict[str, Any]:
    models = {"ours": {**METRICS, "ndcg@5": 0.3}, "popularity": METRICS, "<b>odd</b>": METRICS}
    return {
        "protocol": {"split": "temporal: the last 7 days held out", "ks": [5]},
        "summary": {
            "all": {
                "selected": "ours",
                "best_baseline": "popularity",
                "selected_ndcg@10": 0.3,
                "baseline_ndcg@10": 0.25,
                "lift": 0.2,
            }
        },
        "metrics": {"all": models},
        "segments": {"all": {"ours": {"light": 0.1, "heavy": 0.5}, "popularity": {"light": 0.1, "heavy": 0.2}}}
        if segments
        else {},
        "kinds": {"popularity": "baseline"},
    }


def test_markdown_has_a_row_per_model_with_its_kind_and_figures() -> None:
    text = render_markdown(result(segments=False))
    assert "| ours | selected | 0.3000 | 0.5000 | 0.1250 | 1.0000 | 0.1000 | 12 |" in text
    assert "| popularity | baseline | 0.2500 |" in text
    assert "ours NDCG@10 0.3000 vs best baseline popularity 0.2500 (+20.0%)" in text


def test_html_escapes_names_and_plots_segments_only_when_there_are_some() -> None:
    without = render_html(result(segments=False))
    with_segments = render_html(result(segments=True))
    assert "<b>odd</b>" not in without and "&lt;b&gt;odd&lt;/b&gt;" in without
    assert without.count("<img") == 2 and with_segments.count("<img") == 3
