"""The final metrics as a printed table."""

from __future__ import annotations


def print_metrics(title: str, metrics: dict[str, float], undefined: dict | None = None) -> None:
    """The final table; a metric the split cannot define (``undefined``) prints as missing."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = {
        **{k: f"{v:.6f}" for k, v in metrics.items()},
        **dict.fromkeys(undefined or {}, "missing"),
    }
    for k, v in sorted(rows.items()):
        table.add_row(k, v)
    console = Console(stderr=False)
    console.print(table)
    for k, why in sorted((undefined or {}).items()):
        console.print(f"{k} missing: {why}.", soft_wrap=True)
