"""An evaluator whose failing metric is one line naming the metric and the
predictions kept (tools/test.py, tools/analysis/eval_metric.py)."""
from typing import Optional

from mmengine.evaluator import Evaluator

from mmglip.errors import UserError, one_line
from .dump import DumpPredictions


class MetricFailed(UserError):
    """A metric failed after the predictions were made. ``kept``: the dump
    that holds them (None without one); the metric's exception is the
    ``__cause__`` (its traceback for the log file)."""

    def __init__(self, message: str, kept: Optional[str] = None) -> None:
        super().__init__(message)
        self.kept = kept


class ReportingEvaluator(Evaluator):
    """mmengine's ``Evaluator``, the metrics run in their order (put a
    :class:`~mmglip.evaluation.dump.DumpPredictions` first); an exception of
    a metric becomes :class:`MetricFailed`: which metric, its error, and
    which dump (if any) holds the predictions."""

    def kept_dump(self) -> Optional[str]:
        for metric in self.metrics:
            if isinstance(metric, DumpPredictions) and metric.written:
                return metric.written
        return None

    def evaluate(self, size: int) -> dict:
        metrics = {}
        for metric in self.metrics:
            try:
                results = metric.evaluate(size)
            except Exception as exc:  # noqa: BLE001 (reported, chained)
                kept = self.kept_dump()
                reason = ' '.join(one_line(exc).split())
                raise MetricFailed(
                    f'{type(metric).__name__} failed '
                    f'({type(exc).__name__}: {reason})',
                    kept) from exc
            for name in results:
                if name in metrics:
                    raise ValueError(
                        f'two metrics report {name!r}: give them different '
                        'prefixes.')
            metrics.update(results)
        return metrics


__all__ = ['ReportingEvaluator', 'MetricFailed']
