"""Measurements built on the APIs: the ODinW few-shot benchmark
(tools/benchmark_fewshot.py) and the deploy backends timed side by side
(:mod:`.speed`, tools/deploy/speed_table.py)."""
from .fewshot import FewShotBenchmark
from .record import config_digest
from .plan import (MODES, BenchmarkError, RunSpec, check_tasks, parse_shots,
                   plan_runs, shard, task_configs)
from .report import aggregate, markdown_table, write_reports

__all__ = [
    'MODES', 'BenchmarkError', 'FewShotBenchmark', 'RunSpec', 'plan_runs',
    'shard', 'check_tasks', 'parse_shots', 'task_configs', 'config_digest',
    'aggregate', 'markdown_table', 'write_reports'
]
