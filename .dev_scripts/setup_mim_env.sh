#!/usr/bin/env bash
# Create (idempotently) .venv-mim: OpenMMLab's `mim` (openmim 0.3.9) with
# mmglip installed, for the `mim download mmglip --config NAME` test:
#
#   bash .dev_scripts/setup_mim_env.sh
#   MMGLIP_MIM_PYTHON=.venv-mim/bin/python .venv/bin/python -m pytest tests/zoo
#
# A venv of its own because installing openmim pins setuptools~=60.2 (through
# openxlab), which must not land in .venv. What mim needs and nothing more:
#  - openmim (with its own requirements);
#  - mmengine without its heavy requirements (opencv, matplotlib): mim only
#    uses mmengine.Config to dump the config, which needs addict, yapf,
#    termcolor, platformdirs;
#  - mmglip WITHOUT its requirements (torch, mmcv, ...) and NOT editable:
#    mim 0.3.9 finds a package's files at
#    pkg_resources.get_distribution(pkg).location/<pkg>/.mim/model-index.yml;
#    an editable (PEP 660) install's location is site-packages, where no
#    mmglip/ folder exists, so mim cannot see an editable mmglip. A regular
#    install carries mmglip/.mim/ (setup.py copies model-index.yml, configs,
#    tools into the build). It is rebuilt whenever those files change.
#
# Environment: PYTHON (default python3.11 or python3), FORCE=1 rebuilds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV=.venv-mim
PY="$PWD/$VENV/bin/python"
MIM_MARKER="$VENV/.mim-deps"
PKG_MARKER="$VENV/.mmglip-build"
DEPS_WANT="openmim==0.3.9 mmengine==0.10.7 $(sha256sum .dev_scripts/setup_mim_env.sh | cut -c1-16)"
# everything that ends up in the installed package
PKG_WANT="$(find setup.py setup.cfg pyproject.toml MANIFEST.in model-index.yml model_zoo.md mmglip configs tools \
    -type f \( -name '*.py' -o -name '*.yml' -o -name '*.cfg' -o -name '*.toml' -o -name '*.in' -o -name '*.md' -o -name '*.sh' \) \
    -not -path '*/__pycache__/*' -not -path '*/.mim/*' 2>/dev/null | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)"

if [[ -z "${PYTHON:-}" ]]; then
    if command -v python3.11 >/dev/null 2>&1; then PYTHON=python3.11; else PYTHON=python3; fi
fi
if [[ "${FORCE:-0}" == 1 ]]; then rm -rf "$VENV"; fi
[[ -x "$PY" ]] || "$PYTHON" -m venv "$VENV"

if [[ ! -f "$MIM_MARKER" || "$(cat "$MIM_MARKER")" != "$DEPS_WANT" ]]; then
    echo "[setup-mim] installing openmim 0.3.9 and mmengine (config only) into $VENV" >&2
    rm -f "$MIM_MARKER" "$PKG_MARKER"
    "$PY" -m pip install -q openmim==0.3.9
    "$PY" -m pip install -q --no-deps mmengine==0.10.7
    "$PY" -m pip install -q addict yapf termcolor platformdirs
    echo "$DEPS_WANT" > "$MIM_MARKER"
fi

if [[ ! -f "$PKG_MARKER" || "$(cat "$PKG_MARKER")" != "$PKG_WANT" ]] \
        || ! (cd / && "$PY" -c "import sys, os, pkg_resources as p; d = p.get_distribution('mmglip'); sys.exit(not os.path.isfile(os.path.join(d.location, 'mmglip', '.mim', 'model-index.yml')))" 2>/dev/null); then
    echo "[setup-mim] installing mmglip (regular install, no requirements) into $VENV" >&2
    # build from a copy: an in-tree build would leave build/ and egg-info
    # behind in the working tree
    SRC="$(mktemp -d)"
    trap 'rm -rf "$SRC"' EXIT
    cp -r setup.py setup.cfg pyproject.toml MANIFEST.in README.md model_zoo.md model-index.yml configs tools mmglip "$SRC"/
    rm -rf "$SRC/mmglip/.mim"
    find "$SRC" -name '__pycache__' -prune -exec rm -rf {} +
    "$PY" -m pip install -q --no-deps --force-reinstall "$SRC"
    echo "$PKG_WANT" > "$PKG_MARKER"
fi

# from outside the checkout: pkg_resources would otherwise find the editable
# install's mmglip.egg-info in the working directory (.venv's `pip install
# -e .`) and mim would look for the index there
cd /
"$PY" - <<'EOF'
import os, pkg_resources
from mim.commands.search import get_model_info
d = pkg_resources.get_distribution('mmglip')
info = get_model_info('mmglip', shown_fields=['weight', 'config'], to_dict=True)
print(f'[setup-mim] mim sees mmglip {d.version} at {d.location}: '
      f'{", ".join(info)}')
EOF
