"""A leaderboard of compared models: Markdown, CSV, a printed table and a bar chart."""

from __future__ import annotations

import csv
import statistics
from pathlib import Path

from kiln.errors import KilnError
from kiln.files import atomic as atomic_files

COLUMNS = (
    "rank",
    "model",
    "family",
    "metric",
    "std",
    "folds",
    "params",
    "fit_seconds",
    "latency_ms_per_1k",
    "ece",
    "report",
)


def summarise(results: list[dict], metric: str, mode: str) -> list[dict]:
    """One row per model: mean and std of ``metric`` over folds, ranked best first."""
    rows: dict[str, dict] = {}
    for r in results:
        why = (r.get("undefined_metrics") or {}).get(metric)
        if why:  # this fold's test split cannot define it: the model is ranked on the others
            rows.setdefault(r["model"], {"model": r["model"], "family": r["family"], "runs": []})
            continue
        if metric not in r:
            raise KilnError(
                f"metric={metric} is not measured for {r['model']}; use one of "
                f"{', '.join(k for k in sorted(r) if k.startswith('test/'))}."
            )
        rows.setdefault(r["model"], {"model": r["model"], "family": r["family"], "runs": []})[
            "runs"
        ].append(r)
    out = []
    for row in rows.values():
        runs = row.pop("runs")
        if not runs:
            raise KilnError(
                f"metric={metric} is undefined on every test split of {row['model']} (a class "
                "is missing there); rank on another metric, e.g. metric=test/loss."
            )
        values = [float(r[metric]) for r in runs]
        row.update(
            metric=statistics.fmean(values),
            std=statistics.stdev(values) if len(values) > 1 else 0.0,
            folds=len(values),
            params=int(runs[0]["params"]),
            fit_seconds=statistics.fmean(r["fit_seconds"] for r in runs),
            latency_ms_per_1k=statistics.fmean(r["latency_ms_per_1k"] for r in runs),
            # calibration on the test split (a neural classifier's report), and each fold's report
            ece=statistics.fmean(eces)
            if (eces := [r["ece"] for r in runs if r.get("ece") is not None])
            else None,
            report=[r["report"] for r in runs if r.get("report")],
        )
        out.append(row)
    out.sort(key=lambda r: r["metric"], reverse=(mode == "max"))
    for i, row in enumerate(out, 1):
        row["rank"] = i
    return out


def _cells(row: dict) -> list[str]:
    metric = f"{row['metric']:.4f}" + (f" ± {row['std']:.4f}" if row["folds"] > 1 else "")
    return [
        str(row["rank"]),
        row["model"],
        row["family"],
        metric,
        f"{row['params']:,}",
        f"{row['fit_seconds']:.2f}",
        f"{row['latency_ms_per_1k']:.3f}",
        "" if row.get("ece") is None else f"{row['ece']:.4f}",
    ]


def report_links(row: dict, out: Path) -> str:
    """Markdown links to a model's evaluation reports (one per fold), relative to ``out``."""
    pages = row.get("report") or []
    names = ["report"] if len(pages) == 1 else [f"fold {k}" for k in range(len(pages))]
    return " ".join(
        f"[{n}]({Path(p).relative_to(out) if Path(p).is_relative_to(out) else p})"
        for n, p in zip(names, pages, strict=True)
    )


def write_leaderboard(rows: list[dict], metric: str, out: Path, best_ckpt: str, title: str) -> None:
    header = ["rank", "model", "family", metric, "params", "train s", "ms / 1k rows", "ECE"]
    md_header = [*header, "evaluation"]
    lines = [f"# {title}", "", "| " + " | ".join(md_header) + " |", "|" + "---|" * len(md_header)]
    lines += ["| " + " | ".join([*_cells(r), report_links(r, out)]) + " |" for r in rows]
    best_neural = next((r["model"] for r in rows if r["family"] == "neural"), None)
    best_line = winner(rows)
    lines += ["", best_line]
    if best_ckpt:
        lines.append(f"Best neural model: {best_neural}, checkpoint `{Path(best_ckpt).name}`.")
    atomic_files.write_text(out / "leaderboard.md", "\n".join(lines) + "\n")
    with atomic_files.replacing(out / "leaderboard.csv", mode="w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(
            {**{k: r.get(k) for k in COLUMNS}, "report": " ".join(r.get("report") or [])}
            for r in rows
        )
    _print(rows, header, title)
    print(best_line)  # the winner named on the console too, not only in leaderboard.md
    _chart(rows, metric, out / "leaderboard.png")


def winner(rows: list[dict]) -> str:
    """The sentence naming the best row; a baseline that beats every neural model says so."""
    top = rows[0]
    if top["family"] == "neural":
        return f"Best: {top['model']}."
    return f"Best: {top['model']}, a scikit-learn baseline: it beats every neural model here."


def _print(rows: list[dict], header: list[str], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, header_style="bold")
    for i, h in enumerate(header):
        table.add_column(h, justify="left" if i in (1, 2) else "right")
    for r in rows:
        table.add_row(*_cells(r))
    console = Console()
    if not console.is_terminal:  # a log or a pipe: rich would wrap at 80 columns
        console = Console(width=1000)
    console.print(table)


def _chart(rows: list[dict], metric: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(4, 0.9 * len(rows) + 2), 3.5))
    colours = ["tab:blue" if r["family"] == "neural" else "tab:gray" for r in rows]
    ax.bar(
        [r["model"] for r in rows],
        [r["metric"] for r in rows],
        yerr=[r["std"] for r in rows],
        color=colours,
        capsize=4,
    )
    ax.set_ylabel(metric)
    ax.set_title("neural (blue) vs scikit-learn baselines (grey)", fontsize=9)
    ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    atomic_files.save_figure(fig, path, dpi=100)
    plt.close(fig)
