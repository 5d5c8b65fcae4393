"""Base for modules whose buffers are fitted from data."""

from __future__ import annotations

import torch
from torch import nn


class Fitted(nn.Module):
    """A module whose state lives in buffers fitted on the training split.

    An unfitted instance can be built with empty buffers and then filled by
    ``load_state_dict``: the buffers take the shape and dtype stored in the checkpoint. That is
    how ``kiln eval`` and serving rebuild the preprocessing without the training data.
    """

    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing, unexpected, errors
    ):
        for name in list(self._buffers):
            key = prefix + name
            if key in state_dict and self._buffers[name] is not None:
                incoming = state_dict[key]
                if (
                    incoming.shape != self._buffers[name].shape
                    or incoming.dtype != self._buffers[name].dtype
                ):
                    self._buffers[name] = torch.empty_like(
                        incoming, device=self._buffers[name].device
                    )
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing, unexpected, errors
        )
