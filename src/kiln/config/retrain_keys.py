"""What ``kiln retrain`` applies of the overrides it is given, and the sentence that refuses the
rest. A module of its own, free of Lightning, so that kiln.config.hydra_errors can ask it about an
override that failed to compose without importing the training stack (seconds)."""

from __future__ import annotations

# the keys of conf/retrain.yaml (and what Hydra adds); any other top-level key is not applied
OWN_KEYS = {"task_name", "ckpt_path", "from_scratch", "refit_preprocessing", "refit_profile",
            "test", "print_config", "seed", "data", "trainer", "optimizer", "monitor",
            "callbacks", "logger", "paths", "hydra", "trust_targets"}  # fmt: skip
KEPT = {"model": "model", "scheduler": "scheduler", "monitor": "monitor (and so its best checkpoint)"}  # fmt: skip


def refused_override(override: str) -> str | None:
    """The sentence that refuses an override retrain would not apply (a key of the checkpoint's
    model, scheduler or monitor, or one retrain does not read), or None. kiln.config.hydra_errors
    asks this too, for the overrides that do not compose."""
    key = override.split("=", 1)[0].lstrip("+~")
    top = key.split(".", 1)[0]
    if top in OWN_KEYS - set(KEPT):
        return None
    plain = override.lstrip("+~")
    if top in KEPT:
        return (
            f"kiln retrain keeps the checkpoint's {KEPT[top]} and would not apply {override}; "
            f"leave it out, or train a new model with kiln train {plain}."
        )
    return (
        f"kiln retrain does not apply {override} ({top} is not a retrain setting: the "
        f"checkpoint's own is used); leave it out, or train a new model with kiln train {plain}."
    )
