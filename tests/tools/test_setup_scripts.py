"""The set-up scripts find the prebuilt mmcv wheel whatever PIP_FIND_LINKS
the machine already sets (these machines set /opt/wheels, which used to hide
../shared/wheels and made CI build mmcv from source)."""
import os
import shutil
import subprocess

from ..conftest import REPO


def _find_links(tmp_path, env_value):
    repo = tmp_path / 'checkout'
    (repo / 'tools/lib').mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / 'tools/lib/install_base.sh', repo / 'tools/lib')
    env = {k: v for k, v in os.environ.items() if k != 'PIP_FIND_LINKS'}
    if env_value is not None:
        env['PIP_FIND_LINKS'] = env_value
    res = subprocess.run(
        ['bash', '-c', '. tools/lib/install_base.sh; '
         'echo "${PIP_FIND_LINKS-<unset>}"'],
        cwd=repo, env=env, capture_output=True, text=True, check=True)
    return res.stdout.strip()


def test_shared_wheels_are_added_to_what_the_machine_sets(tmp_path):
    wheels = tmp_path / 'shared/wheels'
    wheels.mkdir(parents=True)
    own = tmp_path / 'own_wheels'
    own.mkdir()
    opt = ['/opt/wheels'] if os.path.isdir('/opt/wheels') else []
    # the machine's value is kept first, the mmcv folder added once
    got = _find_links(tmp_path, f'{own}').split(' ')
    assert got == [str(own)] + opt + [str(wheels)]
    got = _find_links(tmp_path, f'{own} {wheels}').split(' ')
    assert got == [str(own), str(wheels)] + opt
    # unset: the folders that exist; missing folders are left out
    got = _find_links(tmp_path, None).split(' ')
    assert got == opt + [str(wheels)]
    shutil.rmtree(wheels)
    got = _find_links(tmp_path, str(tmp_path / 'missing'))
    assert got == (' '.join(opt) if opt else '<unset>')


def test_scripts_never_replace_the_variable_with_find_links():
    for script in ('tools/setup_env.sh', 'tools/lib/install_base.sh',
                   '.dev_scripts/parity/setup_reference_env.sh',
                   '.dev_scripts/setup_mim_env.sh', '.ci/run'):
        text = (REPO / script).read_text()
        code = '\n'.join(ln for ln in text.splitlines()
                         if not ln.lstrip().startswith('#'))
        assert '--find-links' not in code, script
