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
