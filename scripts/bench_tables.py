"""Issue 16's bar: kiln's tabular default against scikit-learn on the table suite, k-fold CV.

Two steps, two environments (the suite's tables ship in ISLP and plotnine, which kiln's venv
does not have; nothing is downloaded at run time):

    # 1. write the suite's CSVs (scripts/table_suite.py) under the benchmark venv
    python3 -m venv /work/bench-venv-tables
    /work/bench-venv-tables/bin/pip install torch==2.13.0 scikit-learn pandas
    /work/bench-venv-tables/bin/pip install --no-deps ISLP plotnine
    /work/bench-venv-tables/bin/python scripts/bench_tables.py --prepare
    # 2. the benchmark, under kiln's venv (it has scikit-learn)
    PYTHONPATH=src .venv/bin/python scripts/bench_tables.py --folds 5 --out results.json

Per table and fold (StratifiedKFold for classes, KFold for numbers, shuffled with --seed):
HistGradientBoosting, logistic/ridge and random forest (scripts/bench_tables_baselines.py) fit
on the training rows and score the test rows; kiln trains in this process through
``kiln.api.run("train", ...)`` on the training rows, with ``data.test_path`` the fold's test rows
(scripts/bench_tables_kiln.py), ``model=--kiln-model`` and ``--kiln-args``. Score: accuracy for
classes, R2 for numbers. Wall time per table is the sum over folds of each method's fit and
test (kiln's: writing the fold's files, loading, fitting and testing; not importing kiln).
OMP_NUM_THREADS defaults to 1 for every method (a shared machine; set it to change that).
Prints a markdown table with the bar's checks; --out writes every fold's figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pandas as pd  # noqa: E402
from bench_tables_baselines import BASELINES, fit_score  # noqa: E402
from bench_tables_report import bar_checks, markdown, summarise  # noqa: E402
from sklearn.model_selection import KFold, StratifiedKFold  # noqa: E402
from table_suite import BY_NAME, DEFAULT_CACHE, SUITE, prepare  # noqa: E402


def bench_table(table, cache: Path, args, log: Path) -> dict:
    """Every method's score and seconds on every fold of one table."""
    df = pd.read_csv(cache / f"{table.name}.csv")
    y = df[table.target]
    if table.task != "regression":
        y = y.astype(str)
    X = df.drop(columns=[table.target])
    split = (KFold if table.task == "regression" else StratifiedKFold)(
        n_splits=args.folds, shuffle=True, random_state=args.seed
    )
    methods = [*BASELINES, *(["kiln"] if not args.no_kiln else [])]
    scores = {m: [] for m in methods}
    seconds = {m: 0.0 for m in methods}
    saved = args.saved_baselines.get(table.name)
    if saved:  # the same folds (--folds, --seed) scored before: reuse, don't refit
        scores.update({m: list(saved["scores"][m]) for m in BASELINES})
        seconds.update({m: saved["seconds"][m] for m in BASELINES})
    for fold, (tr, te) in enumerate(split.split(X, y)):
        for m in BASELINES if not saved else ():
            start = time.perf_counter()
            scores[m].append(
                fit_score(m, table.task, X.iloc[tr], y.iloc[tr], X.iloc[te], y.iloc[te], args.seed)
            )
            seconds[m] += time.perf_counter() - start
        if not args.no_kiln:
            from bench_tables_kiln import run_fold

            score, took = run_fold(
                df.iloc[tr],
                df.iloc[te],
                table.target,
                table.task,
                args.kiln_model,
                args.seed + fold,
                args.kiln_args,
                log,
            )
            scores["kiln"].append(score)
            seconds["kiln"] += took
        print(
            f"  {table.name} fold {fold}: "
            + " ".join(f"{m}={scores[m][fold]:.4f}" for m in methods),
            flush=True,
        )
    return {
        "name": table.name,
        "rows": len(df),
        "task": table.task,
        "scores": scores,
        "seconds": seconds,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--prepare", action="store_true", help="write the suite's CSVs to --cache and exit"
    )
    p.add_argument("--cache", default=DEFAULT_CACHE, help="folder of the suite's CSVs")
    p.add_argument("--tables", default="", help="name,name (default: the whole suite)")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--kiln-model", default="auto")
    p.add_argument(
        "--kiln-args", default="", help='extra kiln overrides, e.g. "trainer.max_epochs=40"'
    )
    p.add_argument("--no-kiln", action="store_true", help="the baselines only")
    p.add_argument(
        "--baselines-from",
        default="",
        help="a.json,b.json of earlier runs with the same "
        "--folds and --seed: reuse their baseline scores (and seconds) instead of refitting",
    )
    p.add_argument("--out", default=None, help="results JSON (rewritten after each table)")
    p.add_argument("--resume", action="store_true", help="keep the tables --out already holds")
    p.add_argument("--report", default="", help="a.json,b.json: print the table of saved results")
    args = p.parse_args(argv)
    if args.report:
        saved = [json.loads(Path(f).read_text()) for f in args.report.split(",")]
        s = saved[0]["settings"]
        print(markdown([r for d in saved for r in d["tables"]], s["folds"], s["kiln_model"]))
        return 0
    args.saved_baselines = {}
    for f in filter(None, args.baselines_from.split(",")):
        d = json.loads(Path(f).read_text())
        if (d["settings"]["folds"], d["settings"]["seed"]) == (args.folds, args.seed):
            args.saved_baselines.update({r["name"]: r for r in d["tables"]})
    names = [n for n in args.tables.split(",") if n]
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        p.error(f"unknown tables {unknown}; the suite: {', '.join(BY_NAME)}")
    if args.prepare:
        prepare(args.cache, names or None)
        return 0
    cache = Path(args.cache)
    tables = [BY_NAME[n] for n in names] if names else SUITE
    missing = [t.name for t in tables if not (cache / f"{t.name}.csv").exists()]
    if missing:
        p.error(f"{cache} lacks {missing}; run --prepare under the benchmark venv first")
    out = Path(args.out) if args.out else None
    results = json.loads(out.read_text())["tables"] if out and args.resume and out.exists() else []
    done = {r["name"] for r in results}
    log = cache / "kiln-bench.log"
    for table in tables:
        if table.name in done:
            continue
        r = bench_table(table, cache, args, log)
        r.update(summarise(r))
        results.append(r)
        if out:
            tmp = out.with_suffix(".tmp")
            meta = {k: getattr(args, k) for k in ("folds", "seed", "kiln_model", "kiln_args")}
            tmp.write_text(
                json.dumps(
                    {"settings": meta, "tables": results, "bar": bar_checks(results)}, indent=1
                )
            )
            tmp.replace(out)
    print(markdown(results, args.folds, args.kiln_model))
    return 0


if __name__ == "__main__":
    sys.exit(main())
