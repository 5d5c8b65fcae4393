"""Pieces of scripts/bench_gpu.py: kiln's and the hand-written training runs, and their data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from bench_train import StepTimer
from hydra import compose, initialize_config_module

from kiln.config import register_resolvers
from kiln.data.base import InMemoryDataModule, RawData
from kiln.data.loader import TensorBatchLoader
from kiln.preprocessing.scale import Standardize
from kiln.training.builders import build_trainer
from kiln.training.module import KilnModule


def kiln_fit(module, dm, device: str, warmup: int, steps: int, extra: list[str]) -> float:
    """Fit ``module`` with kiln's Trainer built from conf/; seconds for the timed steps."""
    register_resolvers()
    tmp = tempfile.mkdtemp(prefix="kiln-bench-")
    overrides = [
        f"paths.output_dir={tmp}",
        f"trainer={'gpu' if device == 'cuda' else 'cpu'}",
        "trainer.max_epochs=1000",
        f"+trainer.max_steps={warmup + steps + 1}",
        "trainer.num_sanity_val_steps=0",
        "trainer.min_epochs=0",  # let the timer stop inside the first epoch
        "trainer.enable_progress_bar=false",
        "trainer.enable_model_summary=false",
        *extra,
    ]
    with initialize_config_module("kiln.conf", version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    trainer = build_trainer(cfg, Path(tmp))
    timer = StepTimer(warmup, steps)
    trainer.callbacks.append(timer)
    trainer.fit(module, datamodule=dm)
    return timer.t1 - timer.t0


def hand_fit(net, batches, loss_fn, device: str, warmup: int, steps: int) -> float:
    """The loop an engineer writes: bf16 autocast, fused AdamW, set_to_none; timed seconds."""
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-2, fused=device == "cuda")
    amp = torch.autocast(device, dtype=torch.bfloat16, enabled=device == "cuda")
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    for i, (xb, yb) in enumerate(batches()):
        if i == warmup:
            sync()
            t0 = time.perf_counter()
        if i == warmup + steps:
            break
        with amp:
            loss = loss_fn(net(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    sync()
    return time.perf_counter() - t0


def shuffled(tensors, bs: int, device: str, prep=None):
    def batches():
        n = len(tensors[0])
        while True:
            perm = torch.randperm(n, device=device)
            for s in range(0, n - bs + 1, bs):
                idx = perm[s : s + bs]
                xb = tensors[0][idx]
                yield (prep(xb) if prep else xb), tensors[1][idx]

    return batches


class LMModule(KilnModule):
    """KilnModule with a next-token loss over (batch, time, vocab); the sequence task is issue 4's."""

    def loss(self, z, y):
        return F.cross_entropy(z.flatten(0, 1).float(), y.flatten())


class Tokens(InMemoryDataModule):
    """Random token sequences already split; kiln's TensorBatchLoader serves them."""

    def __init__(self, x, y, batch_size: int) -> None:
        super().__init__(batch_size=batch_size)
        self.splits = {"train": (x, y)}

    def val_dataloader(self):
        return []

    def train_dataloader(self):
        return TensorBatchLoader(self.splits["train"], self.batch_size, shuffle=True)


class RepeatedDigits(InMemoryDataModule):
    """scikit-learn's digits as 1x8x8 images, repeated so an epoch outlasts the timed window."""

    def __init__(self, repeat: int = 50, **kwargs) -> None:
        super().__init__(**kwargs)
        self.repeat = repeat

    def load(self) -> RawData:
        from sklearn.datasets import load_digits

        d = load_digits()
        x = np.tile(d.data.astype(np.float32).reshape(-1, 1, 8, 8), (self.repeat, 1, 1, 1))
        return RawData(x=x, y=np.tile(d.target, self.repeat), kind="image", name="digits_images")

    def fit_preprocessor(self, x_train):
        return Standardize.fit(x_train, reduce_dims=(0, 2, 3))


class BlobsData(InMemoryDataModule):
    """A synthetic 10-class table of ``rows`` x 64 for the DDP part (built in each process)."""

    def __init__(self, rows: int = 100_000, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rows = rows

    def load(self) -> RawData:
        g = torch.Generator().manual_seed(0)
        x = torch.randn(self.rows, 64, generator=g) * 3 + 1
        y = (x @ torch.randn(64, 10, generator=g)).argmax(1)
        return RawData(x=x.numpy(), y=y.numpy(), kind="tabular", name="blobs")

    def fit_preprocessor(self, x_train):
        return Standardize.fit(x_train)


def kiln_cli_rate(trainer: list[str], bs: int, rows: int, epochs: int, threads: int = 0) -> float:
    """`kiln train` in its own process(es); training samples/s from its metrics.json."""
    runs = tempfile.mkdtemp(prefix="kiln-bench-ddp-")
    scripts = str(Path(__file__).resolve().parent)
    env = {
        **os.environ,
        "KILN_RUNS": runs,
        "PYTHONPATH": os.pathsep.join([scripts, os.environ.get("PYTHONPATH", "")]),
        **({"OMP_NUM_THREADS": str(threads)} if threads else {}),
    }
    args = [
        "data=wine",
        "data._target_=bench_support.BlobsData",
        "~data.name",
        "~data.as_image",
        f"+data.rows={rows}",
    ]
    args += [
        f"data.batch_size={bs}",
        "model=mlp",
        "model.norm=none",
        "model.dropout=0.0",
        "scheduler=none",
    ]
    args += [
        f"trainer.max_epochs={epochs}",
        "~callbacks.early_stopping",
        "test=false",
        "print_config=false",
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "kiln", "train", *trainer, *args],
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(proc.stdout[-2000:] + proc.stderr[-2000:])
    (metrics,) = Path(runs).glob("train/*/metrics.json")
    return json.loads(metrics.read_text())["train_samples_per_s"]
