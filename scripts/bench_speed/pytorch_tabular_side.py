"""The pytorch_tabular side of scripts/bench_tables_speed.py, run by that venv's python.

argv: csv target batch_size epochs. Same split as kiln's (70/15/15, seeded), its
CategoryEmbeddingModel with kiln's MLP widths (256-256, ReLU, batch norm, dropout 0.1), AdamW
at kiln's learning rate, no early stopping; test accuracy at the end.
"""

import sys
import time

T0 = time.perf_counter()
import pandas as pd  # noqa: E402
from epoch_timer import EpochTimer  # noqa: E402
from pytorch_tabular import TabularModel  # noqa: E402
from pytorch_tabular.config import DataConfig, OptimizerConfig, TrainerConfig  # noqa: E402
from pytorch_tabular.models import CategoryEmbeddingModelConfig  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

path, target, batch, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
df = pd.read_csv(path)
cats = [c for c in df.columns if c.startswith("c")]
nums = [c for c in df.columns if c.startswith("n")]
df[cats] = df[cats].fillna("NA")  # pytorch_tabular wants no missing categoricals
rest, test = train_test_split(df, test_size=0.15, random_state=42, stratify=df[target])
train, val = train_test_split(rest, test_size=0.15 / 0.85, random_state=42, stratify=rest[target])
model = TabularModel(
    data_config=DataConfig(
        target=[target],
        continuous_cols=nums,
        categorical_cols=cats,
        normalize_continuous_features=True,
    ),
    model_config=CategoryEmbeddingModelConfig(
        task="classification",
        layers="256-256",
        activation="ReLU",
        dropout=0.1,
        use_batch_norm=True,
        learning_rate=3e-3,
    ),
    optimizer_config=OptimizerConfig(optimizer="AdamW"),
    trainer_config=TrainerConfig(
        batch_size=batch,
        max_epochs=epochs,
        min_epochs=epochs,
        early_stopping=None,
        checkpoints=None,
        accelerator="cpu",
        progress_bar="none",
        load_best=False,
    ),
    verbose=False,
)
model.fit(train=train, validation=val, callbacks=[EpochTimer()])
result = model.evaluate(test, verbose=False)
print({"test": result, "params": sum(p.numel() for p in model.model.parameters())})
print(f"whole_s {time.perf_counter() - T0:.3f}")
