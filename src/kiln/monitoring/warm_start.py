"""The Lightning callback that starts ``kiln retrain`` from an earlier checkpoint's state.

Which parts are copied decides what is refitted: the network's weights (warm start, unless
from scratch) and the fitted preprocessing (unless refit_preprocessing), before the optimizer
is built, so training starts from them.
"""

from __future__ import annotations

import lightning as L

from kiln.errors import KilnError

PARTS = ("network", "preprocessor", "target_scaler")


class WarmStart(L.Callback):
    def __init__(self, ckpt_path: str, parts: list[str]) -> None:
        unknown = sorted(set(parts) - set(PARTS))
        if unknown:
            raise KilnError(
                f"WarmStart parts {unknown} are unknown; use some of {', '.join(PARTS)}."
            )
        self.ckpt_path, self.parts = ckpt_path, list(parts)

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage != "fit" or not self.parts:
            return
        from kiln.training.checkpoints import read_checkpoint  # builds nothing from its config

        state = read_checkpoint(self.ckpt_path)["state_dict"]
        for part in self.parts:
            module = getattr(pl_module, part, None)
            if module is None:
                continue
            sub = {k[len(part) + 1 :]: v for k, v in state.items() if k.startswith(part + ".")}
            try:
                module.load_state_dict(sub, strict=True)
            except RuntimeError as err:
                raise KilnError(
                    f"The {part} of {self.ckpt_path} does not fit this model ({str(err).splitlines()[-1].strip()}); "
                    "retrain with from_scratch=true refit_preprocessing=true."
                ) from None
