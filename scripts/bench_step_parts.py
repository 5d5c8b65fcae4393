"""Where a training step's time goes: main-thread CPU ms per step, one thread, side by side.

(1) hand: a plain PyTorch loop over kiln's TensorBatchLoader; (2) lightning-auto and
(3) lightning-manual: the same network in a bare LightningModule (no callbacks, no logger),
with automatic and with manual optimisation; (4) kiln: scripts/bench_train.py's full stack.
All four step a fused AdamW (kiln's choice on CPU), so the differences are the loops' own.
CPU time of the main thread (``time.thread_time``) resists the other jobs on a shared machine
better than wall time. Then (5) the ``torch.save`` time of a 64-feature drift profile as
plain lists and as ``kiln.training.checkpoints.pack`` stores it in checkpoints.

    python scripts/bench_step_parts.py [--steps 600] [--batch 256] [--repeats 3]

``--device cuda``: the same four on a GPU (data resident there, bf16 autocast / bf16-mixed
everywhere), timed by wall clock with a synchronisation at both ends; at a small batch the
step is bound by the host's launches and Python, which is where the loops differ.
"""

from __future__ import annotations

import argparse
import io
import time

import bench_train as B
import lightning as L
import numpy as np
import torch
import torch.nn.functional as F

from kiln.data.loader import TensorBatchLoader
from kiln.monitoring.profile import numeric_profile
from kiln.training.checkpoints import pack

WARMUP = 50
DEVICE = "cpu"


def clock() -> float:
    """Main-thread CPU time on the CPU; wall time after a synchronisation on a GPU."""
    if DEVICE == "cuda":
        torch.cuda.synchronize()
        return time.perf_counter()
    return time.thread_time()


class Timer(L.Callback):
    def __init__(self, steps: int) -> None:
        self.steps = steps

    def on_train_batch_start(self, trainer, module, batch, idx):
        if trainer.global_step == WARMUP:
            self.t0 = clock()

    def on_train_batch_end(self, trainer, module, outputs, batch, idx):
        if trainer.global_step == WARMUP + self.steps:
            self.t1 = clock()
            trainer.should_stop = True


class Bare(L.LightningModule):
    def __init__(self, manual: bool) -> None:
        super().__init__()
        self.net = B.make_net()
        self.automatic_optimization = not manual

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.cross_entropy(self.net(x).float(), y)
        if not self.automatic_optimization:
            opt = self.optimizers()
            opt.zero_grad(set_to_none=True)
            self.manual_backward(loss)
            opt.step()
        return loss

    def configure_optimizers(self):
        return torch.optim.AdamW(self.parameters(), lr=1e-3, fused=True)


def hand(x, y, bs: int, steps: int) -> float:
    net = B.make_net().to(DEVICE)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, fused=True)
    loader, i = TensorBatchLoader([x, y], bs, shuffle=True), 0
    amp = torch.autocast("cuda", dtype=torch.bfloat16, enabled=DEVICE == "cuda")
    while True:
        for xb, yb in loader:
            if i == WARMUP:
                t0 = clock()
            if i == WARMUP + steps:
                return (clock() - t0) / steps * 1e3
            with amp:
                loss = F.cross_entropy(net(xb).float(), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            i += 1


def bare(x, y, bs: int, steps: int, manual: bool) -> float:
    timer = Timer(steps)
    trainer = L.Trainer(max_steps=WARMUP + steps + 1, callbacks=[timer], logger=False,
                        enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, num_sanity_val_steps=0, accelerator=DEVICE,
                        precision="bf16-mixed" if DEVICE == "cuda" else "32-true")  # fmt: skip
    trainer.fit(Bare(manual), train_dataloaders=TensorBatchLoader([x, y], bs, shuffle=True))
    return (timer.t1 - timer.t0) / steps * 1e3


def kiln(x, y, bs: int, steps: int) -> float:
    if DEVICE == "cuda":  # its StepTimer synchronises and reads the wall clock
        return bs / B.bench_kiln(x, y, bs, steps, "cuda") * 1e3
    wall, B.time.perf_counter = B.time.perf_counter, time.thread_time  # its StepTimer's clock
    try:
        return bs / B.bench_kiln(x, y, bs, steps, "cpu") * 1e3
    finally:
        B.time.perf_counter = wall


def profile_save_ms(repeats: int = 5) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    profile = {f"f{i}": numeric_profile(rng.normal(size=196_000)) for i in range(64)}
    best = []
    for obj in (profile, pack(profile)):
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            torch.save(obj, io.BytesIO())
            times.append(time.perf_counter() - t0)
        best.append(min(times) * 1e3)
    return best[0], best[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    a = p.parse_args()
    global DEVICE
    DEVICE = a.device
    torch.set_num_threads(1)
    x, y = B.make_data()
    kiln_x, kiln_y = x, y  # kiln's data module moves its splits to the device itself
    if DEVICE == "cuda":
        x, y = x.to(DEVICE), y.to(DEVICE)
    runs = {
        "hand loop": lambda: hand(x, y, a.batch, a.steps),
        "Lightning, automatic optimisation": lambda: bare(x, y, a.batch, a.steps, False),
        "Lightning, manual optimisation": lambda: bare(x, y, a.batch, a.steps, True),
        "kiln (bench_train's full stack)": lambda: kiln(kiln_x, kiln_y, a.batch, a.steps),
    }
    best = {k: float("inf") for k in runs}
    for _ in range(a.repeats):  # interleaved; the best of each
        for name, run in runs.items():
            best[name] = min(best[name], run())
    unit = "wall ms / step (bf16)" if DEVICE == "cuda" else "main-thread CPU ms / step"
    print(f"\n{DEVICE}, batch {a.batch}, 1 thread, {a.steps} steps, torch {torch.__version__}")
    print(f"| run | {unit} |\n|---|---:|")
    for name, ms in best.items():
        print(f"| {name} | {ms:.3f} |")
    if DEVICE == "cuda":
        return
    lists, packed = profile_save_ms()
    print(f"\ntorch.save of a 64-feature profile: lists {lists:.1f} ms, packed {packed:.1f} ms")


if __name__ == "__main__":
    main()
