"""Reports of a run: summary.json, report.html, plots, gates, baselines, allure attachments.

Plain library (no pytest import): the plugin calls `build_run_report` at session end, and
`python -m harness report RUN_DIR` calls the same function offline on a run folder's records.
"""
from __future__ import annotations

from .summary import SUMMARY_FILE, build_summary, validate_summary

__all__ = ["SUMMARY_FILE", "build_summary", "validate_summary"]
