"""Render an evaluation result (`training.evaluation.protocol.run_protocol`'s dict) for people.

Markdown for the console and docs; one self-contained HTML file with plots (matplotlib's Agg
canvas, PNGs inlined) for the artifact directory. The numbers come only from the result dict,
the same one written as metrics.json, so the report and the data cannot disagree.
"""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment
from matplotlib.figure import Figure

METRICS = ("ndcg", "recall", "map", "hitrate", "coverage", "popularityrank")
LABELS = {
    "ndcg": "NDCG",
    "recall": "Recall",
    "map": "MAP",
    "hitrate": "HitRate",
    "coverage": "Coverage",
    "popularityrank": "PopRank",
}


def _kind(result: dict[str, Any], task: str, name: str) -> str:
    if result.get("summary", {}).get(task, {}).get("selected") == name:
        return "selected"
    return str(result.get("kinds", {}).get(name, "model"))


def summary_lines(result: dict[str, Any]) -> list[str]:
    lines = []
    for task, s in result.get("summary", {}).items():
        line = (
            f"- **{task}**: {s['selected']} NDCG@10 {s['selected_ndcg@10']:.4f} vs best baseline "
            f"{s['best_baseline']} {s['baseline_ndcg@10']:.4f} ({s['lift']:+.1%})"
        )
        paired = result.get("paired", {}).get(task)
        if paired:
            line += f"; paired over customers: {_difference(paired)}"
        lines.append(line)
    return lines


def _interval(i: dict[str, Any]) -> str:
    return f"[{i['low']:.4f}, {i['high']:.4f}]"


def _difference(p: dict[str, Any]) -> str:
    """A paired difference and its lift, each with its interval."""
    text = f"{p['diff']:+.4f} [{p['low']:+.4f}, {p['high']:+.4f}]"
    if "lift_low" in p:
        text += f", lift {p['lift']:+.1%} [{p['lift_low']:+.1%}, {p['lift_high']:+.1%}]"
    return text


def markdown_table(result: dict[str, Any], task: str) -> str:
    ks = result["protocol"]["ks"]
    intervals = result.get("intervals", {}).get(task, {})
    leads = result.get("paired_to_each_baseline", {}).get(task, {})
    header = ["model", "kind"] + (["NDCG@10 95% CI"] if intervals else []) + (["selected's lead"] if leads else [])
    header += [f"{LABELS[m]}@{k}" for k in ks for m in METRICS]
    rows = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, values in result["metrics"][task].items():
        cells = [name, _kind(result, task, name)] + ([_interval(intervals[name])] if intervals else [])
        if leads:
            lead = leads.get(name)
            cells.append(f"{lead['lift']:+.1%} [{lead['lift_low']:+.1%}, {lead['lift_high']:+.1%}]" if lead else "")
        for k in ks:
            for m in METRICS:
                v = values.get(f"{m}@{k}")
                cells.append("" if v is None else (f"{v:.0f}" if m == "popularityrank" else f"{v:.4f}"))
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def backtest_table(result: dict[str, Any], task: str) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of a backtest's task: NDCG@10 per window with its bootstrap interval, the
    mean over windows with its t interval."""
    part = result["backtest"][task]
    windows = len(result["protocol"]["windows"])
    header = ["model", "kind"] + [f"window {w + 1}" for w in range(windows)] + ["mean NDCG@10", "95% CI (t)"]
    leads = any("selected_lift" in row for row in part["models"].values())
    header += ["selected's lead (t)"] if leads else []
    rows = []
    for name, row in part["models"].items():
        cells = [f"{v['mean']:.4f} {_interval(v)}" for v in row["per_window"]]
        lead = row.get("selected_lift")
        lift = [f"{lead['mean']:+.1%} [{lead['low']:+.1%}, {lead['high']:+.1%}]" if lead else ""] if leads else []
        rows.append([name, row["kind"], *cells, f"{row['mean']:.4f}", _interval(row), *lift])
    return header, rows


def render_backtest_markdown(result: dict[str, Any]) -> str:
    p = result["protocol"]
    out = [f"Backtest: {p['backtest']}", ""]
    out += [f"- window {w + 1}: {d}" for w, d in enumerate(p["windows"])]
    out += ["", f"Intervals: {p['intervals']}."]
    for task, part in result["backtest"].items():
        header, rows = backtest_table(result, task)
        paired = part["paired"]
        lift = paired["lift"]
        out += [
            "",
            f"### {task}",
            "",
            "| " + " | ".join(header) + " |",
            "|" + "---|" * len(header),
            *("| " + " | ".join(r) + " |" for r in rows),
            "",
            (f"selected per window: {', '.join(part['selected'])}. " if "selected" in part else "")
            + f"{paired['of']} - {paired['against']}: "
            f"difference {_difference({**paired['diff'], 'diff': paired['diff']['mean']})} "
            f"(t over windows), lift {lift['mean']:+.1%} [{lift['low']:+.1%}, {lift['high']:+.1%}]; per window "
            + "; ".join(_difference(w) for w in paired["per_window"]),
        ]
    return "\n".join(out) + "\n"


def importance_rows(result: dict[str, Any], top: int = 12) -> list[list[str]]:
    """The two-stage ranker's most important features per task (share of the total gain), as
    [task, feature, share] rows; the refitted model's when the result has one, else the
    validation fit's."""
    ranker = result.get("ranker") or result.get("tuning", {}).get("ranker") or {}
    rows = []
    for task, shares in (ranker.get("feature_importance") or {}).items():
        for name, share in sorted(shares.items(), key=lambda kv: -kv[1])[:top]:
            rows.append([task, name, f"{share:.1%}"])
    return rows


def importance_markdown(result: dict[str, Any]) -> list[str]:
    rows = importance_rows(result)
    if not rows:
        return []
    lines = [
        "",
        "### two-stage ranker: feature importances (share of gain)",
        "",
        "| task | feature | gain |",
        "|---|---|---|",
    ]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def render_markdown(result: dict[str, Any]) -> str:
    if "backtest" in result:
        return render_backtest_markdown(result)
    p = result["protocol"]
    out = [f"Split: {p['split']}" + (f"; tuned on {p['validation']}" if p.get("validation") else ""), ""]
    out += summary_lines(result)
    for task in result["metrics"]:
        customers = p.get("customers", {}).get(task)
        heading = f"### {task}" + (f" ({customers} customers)" if customers else "")
        out += ["", heading, "", markdown_table(result, task)]
    out += importance_markdown(result)
    return "\n".join(out) + "\n"


def _png(fig: Figure) -> str:
    """PNG via the Agg canvas a bare `Figure` uses: no pyplot, no global backend switch, so
    rendering a report in a notebook leaves its inline plots alone."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode()


def plot_metric_vs_k(result: dict[str, Any], task: str) -> str:
    ks = result["protocol"]["ks"]
    fig = Figure(figsize=(10, 3.6))
    axes = fig.subplots(1, 2)
    for ax, metric in zip(axes, ("ndcg", "recall")):
        for name, values in result["metrics"][task].items():
            style = "-" if _kind(result, task, name) != "baseline" else "--"
            ax.plot(ks, [values[f"{metric}@{k}"] for k in ks], style, marker="o", label=name)
        ax.set(title=f"{task}: {LABELS[metric]}@k", xlabel="k", xticks=ks)
    axes[1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1, 0.5))
    return _png(fig)


def plot_coverage_vs_accuracy(result: dict[str, Any], task: str) -> str:
    k = result["protocol"]["ks"][0]
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for name, values in result["metrics"][task].items():
        marker = "s" if _kind(result, task, name) == "baseline" else "o"
        ax.scatter(values[f"coverage@{k}"], values[f"ndcg@{k}"], marker=marker)
        ax.annotate(name, (values[f"coverage@{k}"], values[f"ndcg@{k}"]), fontsize=7)
    ax.set(
        title=f"{task}: accuracy vs catalog coverage (squares: baselines)", xlabel=f"coverage@{k}", ylabel=f"NDCG@{k}"
    )
    return _png(fig)


def plot_segments(result: dict[str, Any], task: str) -> str | None:
    segments = result.get("segments", {}).get(task, {})
    chosen = [n for n in segments if _kind(result, task, n) in ("selected", "baseline") and segments[n]]
    if not chosen:
        return None
    groups = list(segments[chosen[0]])
    fig = Figure(figsize=(8, 3.6))
    ax = fig.subplots()
    width = 0.8 / len(chosen)
    for i, name in enumerate(chosen):
        ax.bar(
            [g + i * width for g in range(len(groups))], [segments[name].get(s, 0) for s in groups], width, label=name
        )
    ax.set_xticks([g + 0.4 - width / 2 for g in range(len(groups))], groups, fontsize=8)
    ax.set(title=f"{task}: NDCG@10 by customer activity", ylabel="NDCG@10")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1, 0.5))
    return _png(fig)


_TEMPLATE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;font-size:12px}
td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}td:first-child,th:first-child{text-align:left}
tr.selected{background:#e6f4ea;font-weight:bold}tr.baseline{color:#555}</style></head><body>
<h1>{{ title }}</h1><p>Split: {{ protocol.split }}{% if protocol.validation %}; tuned on {{ protocol.validation }}
{% endif %}</p><ul>{% for line in summary %}<li>{{ line }}</li>{% endfor %}</ul>
{% for task in tasks %}<h2>{{ task.name }}</h2><table><tr>{% for h in task.header %}<th>{{ h }}</th>{% endfor %}</tr>
{% for row in task.rows %}<tr class="{{ row[1] }}">{% for c in row %}<td>{{ c }}</td>{% endfor %}</tr>{% endfor %}
</table>{% for img in task.images %}<p><img alt="{{ task.name }} plot" src="data:image/png;base64,{{ img }}"></p>
{% endfor %}{% endfor %}{% if importances %}<h2>Two-stage ranker: feature importances (share of gain)</h2>
<table><tr><th>task</th><th>feature</th><th>gain</th></tr>{% for row in importances %}<tr>
{% for c in row %}<td>{{ c }}</td>{% endfor %}</tr>{% endfor %}</table>{% endif %}</body></html>"""


def render_html(result: dict[str, Any], title: str = "Micro-offers evaluation") -> str:
    if "backtest" in result:
        return _render_backtest_html(result, title)
    tasks = []
    for task in result.get("metrics", {}):
        lines = markdown_table(result, task).splitlines()
        header = [c.strip() for c in lines[0].strip("|").split("|")]
        rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]
        images = [plot_metric_vs_k(result, task), plot_coverage_vs_accuracy(result, task), plot_segments(result, task)]
        tasks.append({"name": task, "header": header, "rows": rows, "images": [i for i in images if i]})
    summary = [line.replace("**", "").lstrip("- ") for line in summary_lines(result)]
    env = Environment(autoescape=True)
    return env.from_string(_TEMPLATE).render(
        title=title,
        protocol=result.get("protocol", {}),
        summary=summary,
        tasks=tasks,
        importances=importance_rows(result),
    )


def _render_backtest_html(result: dict[str, Any], title: str) -> str:
    tasks = []
    for task in result["backtest"]:
        header, rows = backtest_table(result, task)
        tasks.append({"name": task, "header": header, "rows": rows, "images": []})
    lines = render_backtest_markdown(result).splitlines()
    summary = [line.removeprefix("- ") for line in lines if line.startswith(("- ", "selected per window", "B - A"))]
    protocol = {"split": result["protocol"]["backtest"]}
    return (
        Environment(autoescape=True)
        .from_string(_TEMPLATE)
        .render(title=title, protocol=protocol, summary=summary, tasks=tasks)
    )


def write_report(result: dict[str, Any], directory: Path, title: str = "Micro-offers evaluation") -> Path:
    """`directory/<timestamp>/report.html` and `metrics.json`; returns the HTML file."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = directory / stamp
    target.mkdir(parents=True, exist_ok=True)
    (target / "metrics.json").write_text(json.dumps(result, indent=2, default=str))
    html = target / "report.html"
    html.write_text(render_html(result, title))
    return html
