"""kiln vs hand-written PyTorch on one GPU (MLP, GPT-style Transformer, digits CNN), and on CPU
1-process vs 2-process DDP; one call prints every table.

GPU parts: the same model, data (resident on the GPU), batch, optimizer (fused AdamW) and bf16
autocast in both; kiln runs through its own config, module, loader and Trainer. Each is timed
over ``--steps`` steps after a warm-up (torch.compile happens there). CPU part: `kiln train`
processes with trainer=cpu and trainer=ddp_cpu devices=2, read from their metrics.json.

    python scripts/bench_gpu.py --device cuda                # mlp gpt cnn (~3 min on an H200)
    python scripts/bench_gpu.py --device cuda --parts gpt    # one part
    python scripts/bench_gpu.py --device cpu                 # ddp (1 vs 2 processes)
    python scripts/bench_gpu.py --device cpu --parts mlp gpt cnn --tiny --no-compile   # smoke test
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_support import (  # noqa: E402
    LMModule,
    RepeatedDigits,
    Tokens,
    hand_fit,
    kiln_cli_rate,
    kiln_fit,
    shuffled,
)
from bench_train import SyntheticData  # noqa: E402
from gpt_model import GPT  # noqa: E402
from hydra.utils import instantiate  # noqa: E402

from kiln.data.spec import InputSpec  # noqa: E402
from kiln.models.cnn import CNN  # noqa: E402
from kiln.models.mlp import MLP  # noqa: E402
from kiln.preprocessing.scale import Standardize  # noqa: E402
from kiln.training.module import KilnModule  # noqa: E402

H200_BF16_TFLOPS = 989.0  # dense bf16 peak, for MFU


def part_mlp(a) -> list[str]:
    """MLP 64-256-256-10 at batch 1024 on 600k synthetic rows (no epoch end in the window)."""
    rows, bs, warm = (20_000, 256, 5) if a.tiny else (600_000, 1024, 30)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(rows, 64, generator=g) * 3 + 1
    y = (x @ torch.randn(64, 10, generator=g)).argmax(1)
    best = {"kiln": 0.0, "hand": 0.0}
    for _ in range(a.repeats):
        dm = SyntheticData(x, y, batch_size=bs, val_fraction=0.01, test_fraction=0.01)
        dm.setup("fit")
        net = MLP((64,), 10, hidden=[256, 256], dropout=0.0, norm="none")
        opt = instantiate({"_target_": "torch.optim.AdamW", "_partial_": True, "lr": 1e-3})
        module = KilnModule(
            net,
            dm.spec,
            dm.preprocessor,
            optimizer=opt,
            monitor={"metric": "val/acc", "mode": "max"},
        )
        best["kiln"] = max(
            best["kiln"],
            a.steps
            * bs
            / kiln_fit(
                module, dm, a.device, warm, a.steps, ["scheduler=none", "~callbacks.early_stopping"]
            ),
        )
        xd, yd = dm.splits["train"][0].to(a.device), dm.splits["train"][1].to(a.device)
        pre = Standardize.fit(xd.cpu()).to(a.device)
        hand = MLP((64,), 10, hidden=[256, 256], dropout=0.0, norm="none").to(a.device)
        secs = hand_fit(
            hand,
            shuffled((xd, yd), bs, a.device, pre),
            lambda z, t: F.cross_entropy(z.float(), t),
            a.device,
            warm,
            a.steps,
        )
        best["hand"] = max(best["hand"], a.steps * bs / secs)
    return [
        f"| MLP 64-256-256-10, batch {bs} | samples/s | {best['kiln']:,.0f} | {best['hand']:,.0f} | {best['kiln'] / best['hand']:.2f} |"
    ]


def part_gpt(a) -> list[str]:
    """GPT ~110M at batch 16 x 1024 tokens, bf16 + torch.compile, tokens/s and MFU."""
    dims = dict(vocab=512, width=64, layers=2, heads=4, context=128) if a.tiny else {}
    bs, warm, ctx = (4, 3, 128) if a.tiny else (16, 15, 1024)
    torch.manual_seed(0)
    # 64 batches an epoch: no epoch end (and its host syncs) inside the 15 + 40 steps
    seq = torch.randint(0, dims.get("vocab", 32768), (bs * 64, ctx + 1), device=a.device)
    x, y = seq[:, :-1].contiguous(), seq[:, 1:].contiguous()
    # num_outputs only sizes kiln's val/test metric objects, unused here (no validation)
    spec = InputSpec(
        kind="sequence", shape=(ctx,), task="multiclass", num_outputs=2, dataset="tokens"
    )
    opt = instantiate(
        {"_target_": "torch.optim.AdamW", "_partial_": True, "lr": 1e-3, "weight_decay": 1e-2}
    )
    net = GPT(**dims)
    flops = net.flops_per_token(ctx)
    module = LMModule(net, spec, optimizer=opt, compile=a.compile)
    extra = ["scheduler=none", "callbacks=none", "logger=tensorboard"]
    kiln_tps = (
        a.steps * bs * ctx / kiln_fit(module, Tokens(x, y, bs), a.device, warm, a.steps, extra)
    )
    del module, net
    gc.collect()  # the kiln model and its optimizer state leave the GPU before the hand run
    torch.cuda.empty_cache() if a.device == "cuda" else None
    torch.manual_seed(0)
    hand = GPT(**dims).to(a.device)
    if a.compile:
        hand.compile()
    loss = lambda z, t: F.cross_entropy(z.flatten(0, 1).float(), t.flatten())  # noqa: E731
    hand_tps = (
        a.steps
        * bs
        * ctx
        / hand_fit(hand, shuffled((x, y), bs, a.device), loss, a.device, warm, a.steps)
    )
    mfu = lambda tps: f"{100 * tps * flops / (a.peak_tflops * 1e12):.1f}%"  # noqa: E731
    return [
        f"| GPT {sum(p.numel() for p in hand.parameters()) / 1e6:.0f}M, {bs}x{ctx} tokens{', bf16' if a.device == 'cuda' else ''}{' + compile' if a.compile else ''} | tokens/s | {kiln_tps:,.0f} | {hand_tps:,.0f} | {kiln_tps / hand_tps:.2f} |",
        f"| GPT MFU ({flops / 1e6:.0f} MFLOP/token, peak {a.peak_tflops:g} TFLOPS) | MFU | {mfu(kiln_tps)} | {mfu(hand_tps)} | |",
    ]


def part_cnn(a) -> list[str]:
    """kiln's digits CNN (conf/model/cnn.yaml) at batch 256, channels-last on CUDA."""
    bs, warm, repeat = (64, 5, 4) if a.tiny else (256, 30, 60)
    best = {"kiln": 0.0, "hand": 0.0}
    make = lambda: CNN((1, 8, 8), 10, channels=[32, 64], dropout=0.1, hidden=128)  # noqa: E731
    for _ in range(a.repeats):
        dm = RepeatedDigits(repeat, batch_size=bs, val_fraction=0.05, test_fraction=0.05)
        dm.setup("fit")
        opt = instantiate({"_target_": "torch.optim.AdamW", "_partial_": True, "lr": 3e-3})
        module = KilnModule(
            make(),
            dm.spec,
            dm.preprocessor,
            optimizer=opt,
            monitor={"metric": "val/acc", "mode": "max"},
        )
        best["kiln"] = max(
            best["kiln"],
            a.steps
            * bs
            / kiln_fit(
                module, dm, a.device, warm, a.steps, ["scheduler=none", "~callbacks.early_stopping"]
            ),
        )
        xd, yd = (t.to(a.device) for t in dm.splits["train"])
        pre = Standardize.fit(xd.cpu(), reduce_dims=(0, 2, 3)).to(a.device)
        net = make().to(a.device)
        if a.device == "cuda":
            net = net.to(memory_format=torch.channels_last)
        fmt = torch.channels_last if a.device == "cuda" else torch.contiguous_format
        prep = lambda xb, pre=pre, fmt=fmt: pre(xb).contiguous(memory_format=fmt)  # noqa: E731
        secs = hand_fit(
            net,
            shuffled((xd, yd), bs, a.device, prep),
            lambda z, t: F.cross_entropy(z.float(), t),
            a.device,
            warm,
            a.steps,
        )
        best["hand"] = max(best["hand"], a.steps * bs / secs)
    return [
        f"| digits CNN (32-64), batch {bs} | samples/s | {best['kiln']:,.0f} | {best['hand']:,.0f} | {best['kiln'] / best['hand']:.2f} |"
    ]


def part_ddp(a) -> list[str]:
    """`kiln train` MLP on CPU: 1 process vs 2 gloo DDP processes at the same global batch.

    Lightning gives each DDP process cpu_count / 2 threads; the 1-thread row is the fair
    per-core baseline for it, the default-thread row what a user gets without DDP.
    """
    rows, epochs = (20_000, 2) if a.tiny else (60_000, 2)
    cases = [
        ("1 process, default threads, batch 512", ["trainer=cpu"], 512, 0),
        ("1 process, 1 thread, batch 512", ["trainer=cpu"], 512, 1),
        (
            "2 processes (trainer=ddp_cpu), 256 each",
            ["trainer=ddp_cpu", "trainer.devices=2"],
            256,
            0,
        ),
    ]
    best = {name: 0.0 for name, *_ in cases}
    for _ in range(a.repeats):  # interleaved; the best of each resists a noisy neighbour
        for name, trainer, bs, threads in cases:
            best[name] = max(best[name], kiln_cli_rate(trainer, bs, rows, epochs, threads))
    base = best[cases[0][0]]
    return [
        f"| {n} | samples/s | {v:,.0f} | | {v / base:.2f} vs first row |" for n, v in best.items()
    ]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--device", default="cuda" if torch.cuda.is_available() else "cpu", choices=["cpu", "cuda"]
    )
    p.add_argument("--parts", nargs="+", choices=["mlp", "gpt", "cnn", "ddp"])
    p.add_argument(
        "--steps", type=int, default=None, help="timed steps (default 300, GPT 40, tiny 10)"
    )
    p.add_argument(
        "--repeats", type=int, default=2, help="interleaved repeats for mlp/cnn/ddp; best kept"
    )
    p.add_argument("--tiny", action="store_true", help="tiny sizes, to check the script on a CPU")
    p.add_argument(
        "--no-compile", dest="compile", action="store_false", help="GPT without torch.compile"
    )
    p.add_argument("--peak-tflops", type=float, default=H200_BF16_TFLOPS)
    a = p.parse_args()
    parts = a.parts or (["mlp", "gpt", "cnn"] if a.device == "cuda" else ["ddp"])
    torch.set_float32_matmul_precision("high")
    name = torch.cuda.get_device_name() if a.device == "cuda" else f"CPU x{os.cpu_count()}"
    print(
        f"{time.strftime('%Y-%m-%d')}  {name}  torch {torch.__version__}  {' '.join(sys.argv[1:])}"
    )
    print("| workload | unit | kiln | hand-written | kiln / hand |\n|---|---|---:|---:|---:|")
    for part in parts:  # rows as each part ends: a later failure or a timeout keeps them
        steps = a.steps or (10 if a.tiny else 40 if part == "gpt" else 300)
        args = argparse.Namespace(**{**vars(a), "steps": steps})
        started = time.perf_counter()
        rows = globals()[f"part_{part}"](args)
        print("\n".join(rows), flush=True)
        print(f"[{part}: {time.perf_counter() - started:.0f} s]", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
