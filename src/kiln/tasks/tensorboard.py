"""Serve runs in TensorBoard on 127.0.0.1 and print the URL (a sweep: every trial, HParams)."""

from __future__ import annotations

import threading
from pathlib import Path

from omegaconf import DictConfig

from kiln.errors import KilnError

POSITIONAL = "path"  # `kiln tensorboard runs/sweep/x` means path=runs/sweep/x


def run(cfg: DictConfig) -> None:
    """Start TensorBoard's own server in this process and block until interrupted."""
    logdir = Path(str(cfg.path)).expanduser()
    if not logdir.is_dir():
        raise KilnError(
            f"{logdir} is not a directory; pass a runs folder, a sweep or a run directory, "
            "e.g. kiln tensorboard runs/sweep/wine_mlp."
        )
    import logging

    from tensorboard import program

    logging.getLogger("tensorboard").setLevel(logging.WARNING)  # no data-server chatter
    board = program.TensorBoard()
    board.configure(
        argv=[
            None,
            "--logdir",
            str(logdir.resolve()),
            "--host",
            str(cfg.host),
            "--port",
            str(int(cfg.port)),
            "--reload_interval",
            str(int(cfg.reload_interval)),
        ]
    )
    try:
        url = board.launch()
    except program.TensorBoardServerException as err:
        raise KilnError(
            f"TensorBoard could not serve on {cfg.host}:{cfg.port} ({err.msg}); pass port=<another port> or port=0."
        ) from None
    print(f"TensorBoard {url} serving {logdir} (Ctrl-C stops it)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
