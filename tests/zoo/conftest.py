"""Fixtures of the zoo tests: a loopback server speaking the Hugging Face
Hub's download protocol, and huggingface_hub pointed at it."""
import pytest

from .hub_server import HubServer


@pytest.fixture
def server():
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
