"""Each augment op alone: milliseconds per batch of uint8 64x64 RGB images on this machine.

What each key of conf/augment/ costs (kiln.training.augment: kornia 0.9 ops and kiln's flip),
and the three presets; each row includes the uint8 -> float conversion. Best of 5 repeats
after a warm-up. Figures: docs/benchmarks.md, issue 17.

    python scripts/bench_augment_ops.py [--batch 256] [--size 64]
"""

from __future__ import annotations

import argparse
import time

import kornia
import torch

from kiln.data.spec import InputSpec
from kiln.preprocessing.images import ImageInput
from kiln.training.augment import build_augment, preset

OPS = {
    "crop (kornia RandomResizedCrop, 80-100%)": {"crop": 1.0, "crop_scale": [0.8, 1]},
    "flip (kiln's, on the uint8 batch)": {"flip": 0.5},
    "affine (rotate 10, translate 0.05)": {"affine": 1.0, "rotate": 10.0, "translate": 0.05},
    "jitter (brightness, contrast, saturation 0.2)": {
        "jitter": 1.0, "brightness": 0.2, "contrast": 0.2, "saturation": 0.2,
    },
    "jitter hue 0.05": {"jitter": 1.0, "hue": 0.05},
    "erasing": {"erasing": 1.0},
    "mixup": {"mixup": 0.2},
    "cutmix": {"cutmix": 1.0},
}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    n, size = args.batch, args.size
    spec = InputSpec(kind="image", shape=(3, size, size), task="multiclass", num_outputs=10,
                     dataset="ops")  # fmt: skip
    x = torch.randint(0, 256, (n, size, size, 3), dtype=torch.uint8)
    y = torch.randint(0, 10, (n,))
    pre = ImageInput(3).fit(x)
    ops = dict(OPS)
    for name in ("light", "standard", "strong"):
        ops[f"augment={name}"] = {k: v for k, v in preset(name).items() if k != "name"}
    print(f"| op (kornia {kornia.__version__}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} thread(s)) | ms per batch of {n} | us per image |")  # fmt: skip
    print("|---|---:|---:|")
    for name, keys in ops.items():
        aug = build_augment({**preset("none"), **keys}, pre, spec)
        best = float("inf")
        for r in range(args.repeats + 1):
            t = time.perf_counter()
            aug(x, y, seed=r)
            if r:  # the first warms up
                best = min(best, time.perf_counter() - t)
        print(f"| {name} | {best * 1e3:.1f} | {best / n * 1e6:.0f} |")


if __name__ == "__main__":
    main()
