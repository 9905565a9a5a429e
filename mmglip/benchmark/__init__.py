"""The ODinW few-shot benchmark (tools/benchmark_fewshot.py)."""
from .fewshot import (MODES, ODINW_TASKS, BenchmarkError, FewShotBenchmark,
                      RunSpec, plan_runs, shard)
from .report import aggregate, markdown_table, write_reports

__all__ = [
    'MODES', 'ODINW_TASKS', 'BenchmarkError', 'FewShotBenchmark', 'RunSpec',
    'plan_runs', 'shard', 'aggregate', 'markdown_table', 'write_reports'
]
