"""The evaluation report: the numbers (calibration, curves, per-class scores, residuals, slices),
explanations (permutation importance, integrated gradients), figures, and report/ of a run.

A layer between the commands and the engine: ``kiln train`` and ``kiln eval`` write the report
from a model's predictions, the server and ``kiln.load(dir).explain`` reuse the explanations,
and ``kiln compare`` reads the reports it links (docs/architecture.md).
"""

REPORT_DIR = "report"
REPORT_JSON = "evaluation.json"
REPORT_HTML = "report.html"
