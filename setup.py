"""Packaging hook; the metadata lives in setup.cfg.

Builds (wheels and regular installs) get mmglip/.mim/ with model-index.yml,
the configs (and their metafiles), tools/ and model_zoo.md, as OpenMMLab
packages ship them: `mim download mmglip --config NAME` reads
<installed mmglip>/.mim/model-index.yml. The files are copied into the build
folder only, never into the source tree (no symlinks, nothing to go stale).
An editable install needs no copy: mmglip finds model-index.yml and configs/
beside the package.
"""
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
#: what goes into mmglip/.mim, relative to the repository root (the
#: maintainers' tooling in .dev_scripts/ is not shipped)
MIM_FILES = ('model-index.yml', 'model_zoo.md', 'configs', 'tools')


def copy_mim_files(package_dir, root=HERE):
    """Copy :data:`MIM_FILES` from ``root`` into ``package_dir/.mim``."""
    mim = os.path.join(package_dir, '.mim')
    os.makedirs(mim, exist_ok=True)
    ignore = shutil.ignore_patterns('__pycache__', '*.pyc', '*.pth')
    for name in MIM_FILES:
        src, dst = os.path.join(root, name), os.path.join(mim, name)
        if not os.path.exists(src):
            raise FileNotFoundError(f'{src} is missing: cannot package it '
                                    'into mmglip/.mim')
        if os.path.isdir(src):
            if os.path.exists(dst):
                shutil.rmtree(dst)
            shutil.copytree(src, dst, ignore=ignore)
        else:
            shutil.copyfile(src, dst)
    return mim


class BuildPyWithMim(build_py):
    """build_py that also writes mmglip/.mim into the build folder."""

    def run(self):
        super().run()
        if getattr(self, 'editable_mode', False):
            return
        copy_mim_files(os.path.join(self.build_lib, 'mmglip'))


if __name__ == '__main__':
    setup(cmdclass={'build_py': BuildPyWithMim})
