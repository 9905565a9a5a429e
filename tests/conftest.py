import os
from pathlib import Path

import pytest

os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / 'shared' / 'data'
DEMO_DATA = REPO / 'demo' / 'data'


def require_shared(path: Path) -> Path:
    """``path`` (under ../shared beside the checkout), or a test failure
    that names it: CI's clone has the shared folder, so a missing shared
    file is a broken set-up, never a reason to skip."""
    if not Path(path).exists():
        pytest.fail(f'shared test input {path} is missing: the folder '
                    f'{REPO.parent / "shared"} beside the checkout holds '
                    f'the real data the tests run on', pytrace=False)
    return Path(path)


@pytest.fixture(scope='session')
def bert_dir(tmp_path_factory):
    """A local bert-base-uncased directory (config + vocab, no weights)."""
    from mmglip.models.language.local_dirs import write_bert_base_uncased_dir
    return write_bert_base_uncased_dir(tmp_path_factory.mktemp('bert'))


@pytest.fixture(scope='session')
def tokenizer(bert_dir):
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(bert_dir)


@pytest.fixture(scope='session', autouse=True)
def _registered():
    import mmglip
    mmglip.register_all_modules()


# --------------------------------------------- a loopback Hugging Face Hub
# (the zoo's downloads and the ODinW data's: tests/zoo, tests/datasets)
@pytest.fixture
def server():
    from tests.zoo.hub_server import HubServer
    srv = HubServer()
    yield srv
    srv.stop()


@pytest.fixture
def hf(tmp_path, monkeypatch, server):
    """The hub at the loopback server, HF_HOME in tmp_path, online."""
    from huggingface_hub import constants
    home = tmp_path / 'hf'
    for key, value in dict(HF_ENDPOINT=server.endpoint, HF_HOME=str(home),
                           HF_HUB_OFFLINE='0').items():
        monkeypatch.setenv(key, value)
    for key in ('HF_HUB_CACHE', 'HUGGINGFACE_HUB_CACHE', 'HF_TOKEN',
                'MMGLIP_HOME', 'MMGLIP_MIRROR', 'MMGLIP_MODEL_INDEX'):
        monkeypatch.delenv(key, raising=False)
    for key, value in dict(
            ENDPOINT=server.endpoint,
            HUGGINGFACE_CO_URL_TEMPLATE=server.endpoint +
            '/{repo_id}/resolve/{revision}/{filename}',
            HF_HOME=str(home), HF_HUB_CACHE=str(home / 'hub'),
            HF_TOKEN_PATH=str(home / 'token'),
            AGENT_HARNESSES_PATH=str(home / 'agents.json'),
            HF_HUB_OFFLINE=False,
            # huggingface_hub resumes a cut transfer at the last whole chunk
            # it received (10 MiB); small chunks let small files resume
            DOWNLOAD_CHUNK_SIZE=16 * 1024).items():
        monkeypatch.setattr(constants, key, value)
    return home
