"""Serving speed: in-process latency and throughput, then HTTP under 16 concurrent clients for
kiln serve (micro-batching on and off) and a hand-written FastAPI baseline that calls the
PyTorch module per request. Prints a table; ratios matter, absolute times depend on the host.

python scripts/bench_serve.py --ckpt runs/train/<run>/checkpoints/best.ckpt --artifact <dir>
(without them it trains and exports the penguins model into a temporary directory)
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel

REPO = Path(__file__).resolve().parents[1]
ROWS = pd.read_csv(REPO / "data" / "penguins.csv").drop(columns=["species"])


class Penguin(BaseModel):
    """The request body of the hand-written baseline."""

    island: str | None
    bill_length_mm: float | None
    bill_depth_mm: float | None
    flipper_length_mm: float | None
    body_mass_g: float | None
    sex: str | None
    year: int | None


RECORDS = [{k: (None if v != v else v) for k, v in r.items()} for r in ROWS.to_dict("records")]


def baseline_app(ckpt: str):
    """What a user writes by hand: pydantic model, DataFrame, the PyTorch module per request."""
    import torch
    from fastapi import FastAPI
    from omegaconf import OmegaConf

    from kiln.data.schema import Schema
    from kiln.training.builders import build_datamodule, build_module
    from kiln.training.checkpoints import load_checkpoint

    state = load_checkpoint(ckpt)
    cfg = OmegaConf.create(state["kiln"]["config"])
    cfg.data.schema = state["kiln"]["schema"]
    module = build_module(cfg, build_datamodule(cfg.data), run_config=state["kiln"]["config"])
    module.load_state_dict(state["state_dict"])
    module.eval()
    schema = Schema.from_dict(state["kiln"]["schema"])
    labels = module.spec.class_names
    torch.set_num_threads(1)

    app = FastAPI()

    @app.post("/predict")
    def predict(p: Penguin) -> dict:
        x_num, x_cat = schema.encode(pd.DataFrame([p.model_dump()]))
        with torch.no_grad():
            probs = module.to_prediction(
                module((torch.from_numpy(x_num), torch.from_numpy(x_cat)))
            )[0]
        return {
            "prediction": labels[int(probs.argmax())],
            "probabilities": dict(zip(labels, probs.tolist(), strict=True)),
        }

    return app


def start(cmd: list[str], port: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    for _ in range(600):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/openapi.json")
            if c.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"server on {port} did not start: {cmd}")


def load(port: int, clients: int, seconds: float) -> tuple[float, float, float, int]:
    """req/s, p50 ms, p99 ms, errors: ``clients`` threads on keep-alive connections."""
    lat: list[float] = []
    errors = [0]
    stop = time.perf_counter() + seconds
    bodies = [json.dumps(r).encode() for r in RECORDS]

    def client(k: int) -> None:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        i = k
        while time.perf_counter() < stop:
            t = time.perf_counter()
            c.request(
                "POST", "/predict", bodies[i % len(bodies)], {"content-type": "application/json"}
            )
            r = c.getresponse()
            r.read()
            lat.append(time.perf_counter() - t)
            errors[0] += r.status != 200
            i += clients

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ms = np.array(lat) * 1e3
    return (
        len(lat) / (time.perf_counter() - t0),
        float(np.percentile(ms, 50)),
        float(np.percentile(ms, 99)),
        errors[0],
    )


def in_process(artifact: str) -> list[tuple[str, str]]:
    import kiln

    p = kiln.load(artifact)
    ts = []
    for i in range(3000):
        t = time.perf_counter()
        p.predict_records(RECORDS[i % len(RECORDS)])
        ts.append(time.perf_counter() - t)
    ms = np.array(ts[200:]) * 1e3
    big = pd.concat([ROWS] * 30, ignore_index=True)
    best = min(timeit(lambda: p.predict(big)) for _ in range(5))
    return [
        (
            "in-process, 1 row: p50 / p99",
            f"{np.percentile(ms, 50):.3f} ms / {np.percentile(ms, 99):.3f} ms",
        ),
        (f"in-process, DataFrame of {len(big)} rows", f"{len(big) / best:,.0f} rows/s"),
    ]


def timeit(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt")
    ap.add_argument("--artifact")
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--baseline-server", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.baseline_server:
        import uvicorn

        uvicorn.run(
            baseline_app(args.ckpt),
            host="127.0.0.1",
            port=args.baseline_server,
            log_level="warning",
            access_log=False,
        )
        return
    tmp = Path(tempfile.mkdtemp(prefix="kiln-bench-"))
    if not args.ckpt:
        import kiln.api

        res = kiln.api.run(
            "train",
            [
                f"paths.root={tmp}",
                "print_config=false",
                "experiment=penguins_species",
                "logger=none",
            ],
        )
        args.ckpt = res["best_checkpoint"]
    if not args.artifact:
        import kiln.api

        args.artifact = str(tmp / "artifact")
        kiln.api.run(
            "export", [f"ckpt_path={args.ckpt}", f"out={args.artifact}", f"paths.root={tmp}"]
        )
    rows = in_process(args.artifact)
    print("in-process:", rows, flush=True)
    kiln_cmd = [
        sys.executable,
        "-m",
        "kiln",
        "serve",
        f"artifact={args.artifact}",
        f"paths.root={tmp}",
    ]
    servers = {
        "kiln serve, micro-batching on": kiln_cmd,
        "kiln serve, micro-batching off": [*kiln_cmd, "batching.enabled=false"],
        "hand-written FastAPI + PyTorch": [
            sys.executable,
            __file__,
            "--ckpt",
            args.ckpt,
            "--baseline-server",
        ],
    }
    best: dict[str, tuple] = {}
    for _ in range(args.repeats):  # interleaved repeats, best of each
        for i, (name, cmd) in enumerate(servers.items()):
            port = 18900 + i
            full = [*cmd, str(port)] if cmd[-1] == "--baseline-server" else [*cmd, f"port={port}"]
            print("starting", name, flush=True)
            proc = start(full, port)
            try:
                load(port, args.clients, 1.0)  # warm-up
                r = load(port, args.clients, args.seconds)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
            if name not in best or r[0] > best[name][0]:
                best[name] = r
    base = best["hand-written FastAPI + PyTorch"][0]
    print(
        f"\nkiln serving benchmark (penguins, {args.clients} clients, best of {args.repeats} x {args.seconds:.0f}s)"
    )
    print(f"| {'measure':40} | {'value':32} |\n|{'-' * 42}|{'-' * 34}|")
    for k, v in rows:
        print(f"| {k:40} | {v:32} |")
    for name, (rps, p50, p99, err) in best.items():
        v = f"{rps:,.0f} req/s, p50 {p50:.1f} / p99 {p99:.1f} ms, {err} err, {rps / base:.2f}x"
        print(f"| {'HTTP ' + name:40} | {v:32} |")


if __name__ == "__main__":
    main()
