"""The Trainer's checkpoint writer: a temporary file in the checkpoint's own folder, fsynced and
renamed. Lightning's own writer stages the file in the system temp folder and moves it; across
filesystems that move truncates the old checkpoint first, so a kill mid-copy left a 0-byte
last.ckpt, and a full disk a truncated one."""

from __future__ import annotations

import io
from pathlib import Path

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO
from typing_extensions import override

from kiln.files import atomic as atomic_files
from kiln.training.resume_hint import resume_command


class AtomicCheckpointIO(TorchCheckpointIO):
    @override
    def save_checkpoint(self, checkpoint, path, storage_options=None) -> None:
        if storage_options is not None or "://" in str(path):  # remote storage: fsspec's way
            return super().save_checkpoint(checkpoint, path, storage_options)
        path = Path(path)
        buffer = io.BytesIO()  # torch.save into the file would turn ENOSPC into a RuntimeError
        torch.save(checkpoint, buffer)
        last = path.parent / "last.ckpt"
        fix = f"resume with: {resume_command(last)}" if last.is_file() else "run kiln train again"
        atomic_files.write_bytes(path, buffer.getbuffer(), fix=fix)
