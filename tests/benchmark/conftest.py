import pytest

from tests.tool_modules import load_tool
from ..conftest import REPO


@pytest.fixture(scope='session')
def benchmark_tool():
    """tools/benchmark_fewshot.py as a module (its ``main`` runs
    in-process, without a new interpreter)."""
    return load_tool('tools/benchmark_fewshot.py')


@pytest.fixture
def run_benchmark(benchmark_tool, capsys, monkeypatch):
    """``run_benchmark(*argv)`` -> (exit status, stdout, stderr) of the tool
    run in-process through ``run_tool``, from the repository root."""
    from mmglip.utils.cli import run_tool
    monkeypatch.chdir(REPO)
    monkeypatch.delenv('MMGLIP_DEBUG', raising=False)

    def call(*argv):
        capsys.readouterr()
        status = run_tool(benchmark_tool.main, [str(a) for a in argv])
        out, err = capsys.readouterr()
        return status, out, err

    return call
