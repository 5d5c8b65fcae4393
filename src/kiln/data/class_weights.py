"""Class weights and the binary decision threshold a table asks for (``data.class_weight``,
``data.threshold``), checked against the target before anything trains.

The weights are computed on the training split only, so a held-out row never shapes the loss;
``balanced`` is scikit-learn's rule (n_rows / (n_classes * rows of the class)). They travel in
``InputSpec.extra["class_weights"]`` (one weight per class, in the order of ``class_names``), so
the checkpoint and every artifact record the weights the run trained with.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from sklearn.utils.class_weight import compute_class_weight

from kiln.errors import KilnError


def class_weights(
    setting, task: str, classes: list | None, y_train: np.ndarray
) -> list[float] | None:
    """One weight per class (``classes``: the labels as the table holds them), or None for
    ``setting`` null. ``y_train``: the training split's encoded target (0..C-1)."""
    if setting is None:
        return None
    if task not in ("binary", "multiclass"):
        raise KilnError(
            f"data.class_weight weighs the classes of a classification target, and this target "
            f"is a {task} one; drop data.class_weight."
        )
    names = [str(c) for c in classes]
    if isinstance(setting, str) and setting == "balanced":
        counts = np.bincount(y_train.astype(np.int64), minlength=len(names))
        if (counts == 0).any():
            missing = names[int(np.flatnonzero(counts == 0)[0])]
            raise KilnError(
                f"data.class_weight=balanced cannot weigh class {missing!r}, which has no row in the "
                "training split; give the table more rows of it or pass a mapping {label: weight}."
            )
        idx = np.arange(len(names))
        return [float(w) for w in compute_class_weight("balanced", classes=idx, y=y_train)]
    if not isinstance(setting, Mapping):
        raise KilnError(
            f"data.class_weight={setting!r} is neither balanced nor a mapping; pass "
            "data.class_weight=balanced or data.class_weight='{<label>: <weight>, ...}'."
        )
    weights = [1.0] * len(names)
    for label, weight in setting.items():
        if str(label) not in names:
            raise KilnError(
                f"data.class_weight names {label!r}, which is not a class of the target "
                f"(its classes are {', '.join(names)}); use the labels as the table writes them."
            )
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight < 0:  # fmt: skip
            raise KilnError(
                f"data.class_weight gives class {label!r} the weight {weight!r}; a weight must be "
                "a finite number of at least 0."
            )
        weights[names.index(str(label))] = float(weight)
    if not any(weights):
        raise KilnError("data.class_weight gives every class the weight 0; give one class more.")
    return weights


def decision_threshold(setting, task: str) -> float | str | None:
    """``data.threshold``: None (0.5), ``auto`` (chosen on validation) or a float in (0, 1);
    binary targets only."""
    if setting is None:
        return None
    if task != "binary":
        raise KilnError(
            f"data.threshold cuts a binary target's probability, and this target is a {task} "
            "one; drop data.threshold."
        )
    if isinstance(setting, str) and setting == "auto":
        return "auto"
    if isinstance(setting, bool) or not isinstance(setting, (int, float)) or not 0 < setting < 1:
        raise KilnError(
            f"data.threshold={setting!r} must be auto or a number strictly between 0 and 1; "
            "use for example data.threshold=auto."
        )
    return float(setting)
