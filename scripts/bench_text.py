"""Text speed, side by side in one process (ratios, not absolute times):

1. tokenization: the stored ``tokenizers`` tokenizer (kiln.preprocessing.text_tokenizer, as
   training, kiln predict and the server call it) against kiln's Python per-character
   tokenizer (TokenDataModule.encode_texts, data=text_csv before data=text), texts/s;
2. training: the Transformer encoder through kiln's full stack (KilnModule, TextDataModule,
   the Trainer kiln builds from conf/ with its default callbacks) against a hand-written loop
   on the same padded batches (same network, fused AdamW, cross-entropy), padded tokens/s;
3. serving: p50 of one ~200-token text through an exported artifact in-process
   (``kiln.load(dir).predict_records``), and the tokenizer's share of it.

    python scripts/bench_text.py [--steps 200] [--repeats 3] [--device cpu] [--parts tokenize train serve]

Data: data/fortunes.csv repeated 12 times (16,032 texts), so no epoch ends in the timed steps.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_module
from hydra.utils import instantiate

import kiln.api
from kiln.config import register_resolvers
from kiln.data import TextDataModule, TokenDataModule
from kiln.models.transformer import SequenceTransformer
from kiln.preprocessing.text_tokenizer import TextTokenizer
from kiln.training.builders import build_trainer
from kiln.training.module import KilnModule

REPO = Path(__file__).resolve().parents[1]
WARMUP = 20
MODEL = {"d_model": 64, "layers": 2, "heads": 4, "dropout": 0.0}


def texts_file(tmp: Path) -> Path:
    frame = pd.read_csv(REPO / "data" / "fortunes.csv")
    path = tmp / "fortunes_x12.csv"
    pd.concat([frame] * 12, ignore_index=True).to_csv(path, index=False)
    return path


def bench_tokenizers(texts: list[str], repeats: int) -> dict[str, float]:
    """texts/s of the stored tokenizers (BPE and one token per character, each from its JSON)
    and of the Python per-character loop, on the same texts."""
    settings = {"bpe": {}, "char": {"kind": "char"}, "bpe raw": {"normalization": "none"}}
    stored = {
        name: TextTokenizer.from_dict(
            TextTokenizer.fit(texts[:1336], vocab_size=4000, max_len=128, **kw).to_dict()
        )
        for name, kw in settings.items()
    }
    chars = TokenDataModule(source="csv", path="unused", max_len=128)
    train = np.arange(1336)
    runs = {f"stored {k}": (lambda t=t: t.encode(texts)) for k, t in stored.items()}
    runs["python chars"] = lambda: chars.encode_texts(texts, train)
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeats):  # interleaved, best of each
        for name, fn in runs.items():
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    return {name: len(texts) / t for name, t in best.items()}


def make_dm(path: Path, bs: int) -> TextDataModule:
    dm = TextDataModule(
        path=str(path), max_len=96, tokenizer={"vocab_size": 4000}, batch_size=bs,
        val_fraction=0.05, test_fraction=0.05, split_seed=0,
    )  # fmt: skip
    dm.setup("fit")
    return dm


def bench_kiln(dm: TextDataModule, steps: int, device: str) -> float:
    import lightning as L

    class Timer(L.Callback):
        t0 = t1 = None

        def on_train_batch_start(self, trainer, module, batch, idx):
            if trainer.global_step == WARMUP:
                sync(device)
                self.t0 = time.perf_counter()

        def on_train_batch_end(self, trainer, module, outputs, batch, idx):
            if trainer.global_step == WARMUP + steps:
                sync(device)
                self.t1 = time.perf_counter()
                trainer.should_stop = True

    register_resolvers()
    tmp = tempfile.mkdtemp(prefix="kiln-bench-text-")
    overrides = [
        f"paths.output_dir={tmp}", "optimizer.lr=1e-3", "scheduler=none",
        "trainer.max_epochs=1000", f"+trainer.max_steps={WARMUP + steps + 1}",
        "monitor.metric=val/loss", "monitor.mode=min",
        "trainer.num_sanity_val_steps=0", "trainer.enable_progress_bar=false",
        "trainer.enable_model_summary=false", "+callbacks.early_stopping.strict=false",
        "~callbacks.confusion_matrix", f"trainer={'gpu' if device == 'cuda' else 'cpu'}",
    ]  # fmt: skip
    with initialize_config_module("kiln.conf", version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    net = make_net(dm)
    module = KilnModule(net, dm.spec, dm.preprocessor, optimizer=instantiate(cfg.optimizer),
                        monitor={"metric": "val/loss", "mode": "min"})  # fmt: skip
    trainer = build_trainer(cfg, Path(tmp), with_loggers=False)
    timer = Timer()
    trainer.callbacks.append(timer)
    trainer.fit(module, datamodule=dm)
    return steps * dm.batch_size * dm.spec.shape[0] / (timer.t1 - timer.t0)


def make_net(dm) -> SequenceTransformer:
    torch.manual_seed(0)
    spec = dm.spec
    return SequenceTransformer(
        spec.shape, spec.num_outputs, vocab_size=spec.extra["vocab_size"], **MODEL
    )


def bench_hand(dm: TextDataModule, steps: int, device: str) -> float:
    """The same padded (ids, lengths) batches, indexed from the same tensors, by hand."""
    ids, lengths, y = (t.to(device) for t in dm.splits["train"])
    net = make_net(dm).to(device).train()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-2, fused=True)
    bs, t0 = dm.batch_size, None
    amp = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device == "cuda")
    step = 0
    while step < WARMUP + steps:
        perm = torch.randperm(len(y), device=device)
        for s in range(0, len(y) - bs + 1, bs):
            if step == WARMUP:
                sync(device)
                t0 = time.perf_counter()
            if step == WARMUP + steps:
                break
            idx = perm[s : s + bs]
            with amp:
                loss = F.cross_entropy(net((ids[idx], lengths[idx])).float(), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
    sync(device)
    return steps * bs * ids.shape[1] / (time.perf_counter() - t0)


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def bench_serve(path: Path, tmp: Path, repeats: int = 300) -> tuple[float, float, int]:
    """p50 ms of one ~200-token text through an exported artifact, and of its tokenization."""
    root = tmp / "serve"
    frame = pd.read_csv(path).head(8000)  # texts of 8 fortunes each: the width must hold 200 tokens
    long = pd.DataFrame({
        "text": [" ".join(frame["text"][i : i + 8]) for i in range(0, len(frame), 8)],
        "label": frame["label"][::8].to_numpy(),
    })  # fmt: skip
    path = tmp / "long_texts.csv"
    long.to_csv(path, index=False)
    result = kiln.api.run("train", [
        f"paths.root={root}", "print_config=false", "logger=none", "trainer.max_epochs=1",
        "~callbacks.confusion_matrix", "data=text", f"data.path={path}", "data.max_len=256",
        "model=transformer", *(f"model.{k}={v}" for k, v in MODEL.items()),
    ])  # fmt: skip
    art = root / "artifact"
    kiln.api.run("export", [f"ckpt_path={result['best_checkpoint']}", f"out={art}",
                            f"paths.root={root}"])  # fmt: skip
    predictor = kiln.load(art)
    words = " ".join(pd.read_csv(REPO / "data" / "fortunes.csv")["text"].tolist()).split()
    text, n = "", 0
    width = predictor.schema.tokenizer.max_len
    if width < 200:
        raise SystemExit(f"the serving model's width is {width} tokens, under 200")
    while n < 200:
        text = " ".join(words[: len(text.split()) + 5])
        n = int(predictor.schema.tokenizer.encode([text]).lengths[0])
    full, tok = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        predictor.predict_records([{"text": text}])
        full.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        predictor.schema.encode_records([{"text": text}])
        tok.append(time.perf_counter() - t0)
    return statistics.median(full) * 1e3, statistics.median(tok) * 1e3, n


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--parts", nargs="+", default=["tokenize", "train", "serve"])
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="kiln-bench-text-"))
    path = texts_file(tmp)
    texts = pd.read_csv(path)["text"].tolist()
    print(f"device={args.device} threads={torch.get_num_threads()} torch={torch.__version__}")
    if "tokenize" in args.parts:
        speed = bench_tokenizers(texts, args.repeats)
        base = speed["python chars"]
        print("| tokenizer | texts/s | vs Python chars |\n|---|---:|---:|")
        names = {
            "stored bpe": "stored BPE (tokenizers; NFKC, lower-case, pre-tokenizer, merges)",
            "stored char": "stored per-character (tokenizers; NFKC, lower-case)",
            "stored bpe raw": "stored BPE, normalization=none (lower-case only)",
            "python chars": "Python per-character loop (TokenDataModule, data=text_csv)",
        }
        for key, label in names.items():
            print(f"| {label} | {speed[key]:,.0f} | {speed[key] / base:.2f}x |", flush=True)
    if "train" in args.parts:
        dm = make_dm(path, args.batch)
        best = {"kiln": 0.0, "hand": 0.0}
        for _ in range(args.repeats):  # interleaved, best of each
            best["hand"] = max(best["hand"], bench_hand(dm, args.steps, args.device))
            best["kiln"] = max(best["kiln"], bench_kiln(dm, args.steps, args.device))
        print("\n| batch x width | kiln tokens/s | hand loop tokens/s | kiln/hand |")
        print("|---|---:|---:|---:|")
        print(f"| {args.batch} x {dm.spec.shape[0]} | {best['kiln']:,.0f} | {best['hand']:,.0f} | "
              f"**{best['kiln'] / best['hand']:.2f}** |", flush=True)  # fmt: skip
    if "serve" in args.parts:
        p50, tok, n = bench_serve(path, tmp)
        print("\n| serve, one text in-process | tokens | p50 ms | tokenizing p50 ms |")
        print("|---|---:|---:|---:|")
        print(f"| kiln.load(artifact).predict_records | {n} | {p50:.2f} | {tok:.3f} |")


if __name__ == "__main__":
    main()
