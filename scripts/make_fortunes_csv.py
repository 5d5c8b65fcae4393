"""Build data/fortunes.csv from Debian's ``fortunes`` package (BSD-3-Clause; see data/README.md).

    apt-get download fortunes && dpkg-deb -x fortunes_*.deb /tmp/fortunes
    python scripts/make_fortunes_csv.py /tmp/fortunes/usr/share/games/fortunes data/fortunes.csv

Each fortune file is a category; a fortune is a text, its file's name its label. Kept: the
fortunes of up to 300 characters, the first 200 per category in file order.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

CATEGORIES = ("computers", "education", "food", "law", "love", "politics", "science", "sports")


def main(src: str, out: str) -> None:
    rows = []
    for cat in CATEGORIES:
        texts = (Path(src) / cat).read_text(encoding="utf-8", errors="strict").split("\n%\n")
        kept = [t.strip() for t in texts if 0 < len(t.strip()) <= 300][:200]
        rows += [{"text": t, "label": cat} for t in kept]
    pd.DataFrame(rows).to_csv(out, index=False)
    print(f"{len(rows)} rows -> {out}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
