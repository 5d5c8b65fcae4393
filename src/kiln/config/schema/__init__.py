"""Schemas of kiln's config: one dataclass per command (``commands``), the nodes inside them
(``nodes``), typed fields with ranges (``fields``) and the check that holds a composed config
to its command's schema (``check``)."""

from kiln.config.schema.check import check_schema, sentence
from kiln.config.schema.commands import SCHEMAS
from kiln.config.schema.nodes import THRESHOLD_DEFAULTS, Thresholds

__all__ = ["SCHEMAS", "THRESHOLD_DEFAULTS", "Thresholds", "check_schema", "sentence"]
