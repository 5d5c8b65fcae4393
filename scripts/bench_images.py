"""Image training throughput: kiln's pipeline vs the loop a user would write, side by side.

(a) kiln: ``data=images`` decodes the folder once into a uint8 cache (N, H, W, C); each
    training batch is gathered from it, augmented as a whole batch on the training device
    (``augment=light``: random resized crop + horizontal flip, kornia) and fed to KilnModule
    under kiln's own Trainer (``build_trainer``; no validation, checkpoints or loggers, so
    both sides time the same work);
(b) a hand-written loop: a ``Dataset`` that opens each file with Pillow every epoch and
    augments each sample with torch ops (the same crop and flip), ``DataLoader(batch_size,
    shuffle=True, num_workers=2, persistent_workers=True)``, and a plain AdamW step.

Same network (kiln's CNN, ``--channels``), same batch size, same images (random 64x64 crops
of scikit-learn's two bundled sample photos, written as PNG to a temporary folder). Prints
images/s per epoch, kiln's decode time (its first epoch's extra cost, reported apart), the
cache's bytes against N x H x W x C, and the ratio a/b from the second epoch on. ``--no-model``
times the input pipelines alone (batches produced and augmented, no network step).

    python scripts/bench_images.py [--images 10000] [--epochs 3] [--batch 256]
        [--channels 8 16] [--threads 2] [--no-model] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_module
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from kiln.config import register_resolvers
from kiln.models import CNN
from kiln.training.builders import build_datamodule, build_module, build_trainer

SIZE, CLASSES = 64, 10
SCALE, RATIO = (0.8, 1.0), (3 / 4, 4 / 3)  # augment=light's crop (kornia's default ratio)


def write_images(root: Path, n: int, seed: int = 0) -> None:
    """n PNG files of 64x64 crops of the bundled photos, 10 class folders (by crop position)."""
    from sklearn.datasets import load_sample_images

    photos = load_sample_images().images
    rng = np.random.default_rng(seed)
    for c in range(CLASSES):
        (root / f"class{c}").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        photo = photos[i % 2]
        top = rng.integers(0, photo.shape[0] - SIZE)
        left = rng.integers(0, photo.shape[1] - SIZE)
        c = (i % 2) * 5 + min(int(left / (photo.shape[1] - SIZE) * 5), 4)
        Image.fromarray(photo[top : top + SIZE, left : left + SIZE]).save(
            root / f"class{c}" / f"{i:05d}.png"
        )


class EpochTimer(L.Callback):
    """Seconds of each training epoch (batches only: validation is off)."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def on_train_epoch_start(self, trainer, module) -> None:
        self.started = time.perf_counter()

    def on_train_epoch_end(self, trainer, module) -> None:
        self.seconds.append(time.perf_counter() - self.started)


def kiln_config(folder: Path, out: str, args):
    register_resolvers()
    with initialize_config_module("kiln.conf", version_base="1.3"):
        return compose(
            "train",
            overrides=[
                "data=images",
                f"data.path={folder}",
                f"data.size=[{SIZE},{SIZE}]",
                f"data.batch_size={args.batch}",
                "data.val_fraction=0.02",
                "data.test_fraction=0.02",
                "augment=light",
                "model=cnn",
                f"model.channels=[{','.join(map(str, args.channels))}]",
                f"model.hidden={args.hidden}",
                "model.dropout=0.0",
                "scheduler=none",
                "callbacks=none",
                "logger=none",
                f"threads={'null' if args.threads is None else args.threads}",
                f"trainer={'gpu' if args.device == 'cuda' else 'cpu'}",
                f"paths.output_dir={out}",
                f"trainer.max_epochs={args.epochs}",
                "+trainer.limit_val_batches=0",
                "trainer.num_sanity_val_steps=0",
                "+trainer.enable_checkpointing=false",
                "trainer.enable_progress_bar=false",
                "trainer.enable_model_summary=false",
            ],
        )


def run_kiln(folder: Path, args) -> dict:
    out = tempfile.mkdtemp(prefix="kiln-bench-images-")
    cfg = kiln_config(folder, out, args)
    started = time.perf_counter()
    dm = build_datamodule(cfg.data)  # lists and decodes every file once, into the cache
    decode = time.perf_counter() - started
    module = build_module(cfg, dm)
    x_train = dm.splits["train"][0]
    cached = [x for x, _ in dm.splits.values()]
    result = {"decode_s": decode, "images": len(x_train), "dtype": str(x_train.dtype),
              "cache_bytes": sum(x.numel() * x.element_size() for x in cached),
              "pixels": sum(x.numel() for x in cached)}  # fmt: skip
    if args.no_model:
        seconds = []
        for _ in range(args.epochs):
            t = time.perf_counter()
            for i, (x, y) in enumerate(dm.train_dataloader()):
                module.augment(x, y, seed=i)
            seconds.append(time.perf_counter() - t)
    else:
        timer = EpochTimer()
        trainer = build_trainer(cfg, Path(out), with_loggers=False)
        trainer.callbacks.append(timer)
        trainer.fit(module, datamodule=dm)
        seconds = timer.seconds
    result["seconds"] = seconds
    return result


class FolderImages(Dataset):
    """What a user writes: open the file, augment this one image, normalize."""

    def __init__(self, files: list[Path], labels: list[int]) -> None:
        self.files, self.labels = files, labels
        self.mean = torch.tensor([0.5, 0.5, 0.5]).view(3, 1, 1)
        self.std = torch.tensor([0.25, 0.25, 0.25]).view(3, 1, 1)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int):
        with Image.open(self.files[i]) as img:
            x = torch.from_numpy(np.array(img.convert("RGB"))).permute(2, 0, 1).float() / 255
        area = np.random.uniform(*SCALE) * SIZE * SIZE
        ratio = np.exp(np.random.uniform(np.log(RATIO[0]), np.log(RATIO[1])))
        h = min(SIZE, round((area / ratio) ** 0.5))
        w = min(SIZE, round((area * ratio) ** 0.5))
        top, left = np.random.randint(0, SIZE - h + 1), np.random.randint(0, SIZE - w + 1)
        x = F.interpolate(x[None, :, top : top + h, left : left + w], size=(SIZE, SIZE),
                          mode="bilinear", align_corners=False)[0]  # fmt: skip
        if np.random.rand() < 0.5:
            x = x.flip(-1)
        return (x - self.mean) / self.std, self.labels[i]


def run_hand(folder: Path, n: int, args) -> dict:
    files = sorted(folder.glob("*/*.png"))
    rng = np.random.default_rng(1)
    files = [files[i] for i in rng.permutation(len(files))[:n]]  # as many as kiln trains on
    labels = [int(f.parent.name.removeprefix("class")) for f in files]
    loader = DataLoader(FolderImages(files, labels), batch_size=args.batch, shuffle=True,
                        num_workers=2, persistent_workers=True,
                        pin_memory=args.device == "cuda")  # fmt: skip
    torch.manual_seed(0)
    net = CNN((3, SIZE, SIZE), CLASSES, channels=args.channels, hidden=args.hidden, dropout=0.0)
    net = net.to(args.device)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    seconds = []
    for _ in range(args.epochs):
        t = time.perf_counter()
        for x, y in loader:
            if args.no_model:
                continue
            x, y = x.to(args.device, non_blocking=True), y.to(args.device, non_blocking=True)
            loss = F.cross_entropy(net(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if args.device == "cuda":
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - t)
    return {"seconds": seconds, "images": n}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=10_000)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--channels", type=int, nargs="+", default=[8, 16])
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads of both training processes (default: kiln's rule, threads=null, and torch's default for the hand loop)")  # fmt: skip
    p.add_argument("--no-model", action="store_true", help="time the input pipelines alone")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--folder", type=Path, default=None, help="reuse a folder written before")
    args = p.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    hand_threads = torch.get_num_threads()
    folder = args.folder or Path(tempfile.mkdtemp(prefix="kiln-images-"))
    if not any(folder.glob("*/*.png")):
        t = time.perf_counter()
        write_images(folder, args.images)
        print(f"wrote {args.images} PNG files to {folder} in {time.perf_counter() - t:.1f} s")
    kiln = run_kiln(folder, args)
    kiln_threads = torch.get_num_threads()  # as kiln's Trainer left it (threads=null: by size)
    torch.set_num_threads(hand_threads)
    hand = run_hand(folder, kiln["images"], args)
    what = "input pipeline only" if args.no_model else f"CNN channels={args.channels}"
    print(f"\n{kiln['images']} training images of {SIZE}x{SIZE}, batch {args.batch}, {what}, "
          f"{args.device}, torch threads: kiln {kiln_threads}, hand loop {hand_threads} "
          f"(+2 workers), {os.cpu_count()} CPUs\n")  # fmt: skip
    print("| epoch | kiln images/s | hand loop images/s | kiln / hand |")
    print("|---|---|---|---|")
    for e, (a, b) in enumerate(zip(kiln["seconds"], hand["seconds"], strict=True), 1):
        ra, rb = kiln["images"] / a, hand["images"] / b
        print(f"| {e} | {ra:,.0f} | {rb:,.0f} | {ra / rb:.2f}x |")
    later = slice(1, None)
    ra = kiln["images"] * (len(kiln["seconds"]) - 1) / sum(kiln["seconds"][later])
    rb = hand["images"] * (len(hand["seconds"]) - 1) / sum(hand["seconds"][later])
    print(f"\nfrom the second epoch: kiln {ra:,.0f} images/s, hand loop {rb:,.0f} images/s: "
          f"{ra / rb:.2f}x")  # fmt: skip
    per_pixel = kiln["cache_bytes"] / kiln["pixels"]
    print(f"kiln's decode (once, before its first epoch): {kiln['decode_s']:.1f} s; cache "
          f"{kiln['cache_bytes'] / 1e6:.1f} MB = {per_pixel:.2f} byte per pixel per channel "
          f"({kiln['dtype']})")  # fmt: skip


if __name__ == "__main__":
    main()
