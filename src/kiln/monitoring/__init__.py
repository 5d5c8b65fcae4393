"""Monitoring: reference profiles stored at training time, and drift tests against them."""

from kiln.monitoring.profiler import ReferenceProfiler

__all__ = ["ReferenceProfiler"]
