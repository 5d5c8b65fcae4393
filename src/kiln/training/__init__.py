"""The engine: the LightningModule, stepping, optimizers, metrics, callbacks, checkpoints, builders, distributed; the only package that touches a Trainer."""
