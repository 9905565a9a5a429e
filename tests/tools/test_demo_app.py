"""tools/demo_app.py: the page's functions on real images, and the page
itself, started on a free local port and driven in a real browser (Debian's
chromium through Playwright): the same detections, drawing and JSON as
tools/infer.py, bad inputs answered with their one line while the server
goes on, nothing written outside the chosen output folder.

glip-lite's initialisation is saved once and loaded by the page and by
tools/infer.py alike (its head starts random, so two builds differ).
MMGLIP_DEMO_WEIGHTS names trained glip-lite weights to use instead (the
README's screenshot: MMGLIP_DEMO_SCREENSHOT=docs/demo_app.png writes it).
"""
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from ..conftest import DEMO_DATA, REPO

IMAGE = DEMO_DATA / 'raccoon_mini/test/raccoon-134.jpg'
PROMPT = 'raccoon. trash can'
CHROMIUM = '/usr/bin/chromium'
BROWSER_ARGS = ['--no-sandbox', '--disable-gpu',
                '--disable-background-networking',
                '--disable-component-update', '--disable-sync',
                '--no-first-run']
TRAINED = os.environ.get('MMGLIP_DEMO_WEIGHTS')
# glip-lite's initialisation scores about 0.07 everywhere
THR = 0.3 if TRAINED else 0.05


def _tool(name):
    spec = importlib.util.spec_from_file_location(
        f'{name}_tool', REPO / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def demo_tool():
    return _tool('demo_app')


@pytest.fixture(scope='module')
def lite(demo_tool, tmp_path_factory):
    """(app, weights): a DemoApp with glip-lite loaded, and its weights
    in a file, for the page and tools/infer.py to load the same model."""
    import torch
    root = tmp_path_factory.mktemp('lite')
    app = demo_tool.DemoApp(root / 'out')
    if TRAINED:
        app.load('glip-lite', TRAINED)
        return app, TRAINED
    app.load('glip-lite')
    weights = root / 'glip-lite_init.pth'
    torch.save({'state_dict': app.model.state_dict()}, weights)
    return app, str(weights)


@pytest.fixture(scope='module')
def inputs(tmp_path_factory):
    """The shipped image, and bad copies of it: a text file called .jpg, a
    JPEG cut in half."""
    folder = tmp_path_factory.mktemp('inputs')
    shutil.copy(IMAGE, folder / IMAGE.name)
    data = IMAGE.read_bytes()
    (folder / 'truncated.jpg').write_bytes(data[:len(data) // 2])
    (folder / 'notes.jpg').write_text('a text file, not an image')
    return folder


@pytest.fixture(scope='module')
def cli(lite, inputs, tmp_path_factory):
    """What tools/infer.py writes and says for the inputs: (the shipped
    image's JSON, its drawn image's bytes, {file name: error line})."""
    out = tmp_path_factory.mktemp('cli')
    names = [IMAGE.name, 'notes.jpg', 'truncated.jpg']
    res = subprocess.run(
        [sys.executable, 'tools/infer.py', *[str(inputs / n) for n in names],
         'glip-lite', '--weights', lite[1], '--texts', PROMPT,
         '--pred-score-thr', str(THR), '--out-dir', str(out)],
        cwd=REPO, capture_output=True, text=True,
        env={**os.environ, 'HF_HUB_OFFLINE': '1'})
    assert res.returncode == 2, res.stderr[-3000:]  # two unreadable images
    errors = {}
    for line in res.stderr.splitlines():
        for name in names:
            prefix = f'{inputs / name}: '
            if ' skipped ' in line and prefix in line:
                errors[name] = name + ': ' + line.split(prefix, 1)[1]
    stem = IMAGE.stem
    return (json.loads((out / f'preds/{stem}.json').read_text()),
            (out / f'vis/{IMAGE.name}').read_bytes(), errors)


def _files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob('*')
                  if p.is_file())


# ---------- in a browser (first: the page starts while infer.py runs)
def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _browser():
    """Playwright and Debian's chromium, or a failure saying how to get
    them (never a skip: CI installs both through tools/setup_env.sh)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail('playwright is not installed: run bash '
                    'tools/setup_env.sh (or .venv/bin/pip install '
                    'playwright)', pytrace=False)
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f'no browser at {CHROMIUM}: install Debian\'s chromium '
                    '(as root: apt-get install -y chromium; tools/'
                    'setup_env.sh does it)', pytrace=False)
    return sync_playwright


@pytest.fixture(scope='module')
def started(lite, tmp_path_factory):
    """tools/demo_app.py starting on a free port, run from an empty folder
    with its own TMPDIR: (process, url, root)."""
    root = tmp_path_factory.mktemp('server')
    cwd, tmp, out = root / 'cwd', root / 'tmp', root / 'out'
    cwd.mkdir()
    tmp.mkdir()
    port = _free_port()
    log = open(root / 'app.log', 'w')
    proc = subprocess.Popen(
        [sys.executable, str(REPO / 'tools/demo_app.py'), 'glip-lite',
         '--weights', lite[1], '--port', str(port), '--out-dir', str(out),
         '--pred-score-thr', str(THR)],
        cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, 'HF_HUB_OFFLINE': '1', 'TMPDIR': str(tmp),
             'GRADIO_ANALYTICS_ENABLED': 'False'})
    yield proc, f'http://127.0.0.1:{port}/', root
    proc.terminate()
    proc.wait(30)
    log.close()


@pytest.fixture(scope='module')
def server(started, cli):
    """The started page once it answers (tools/infer.py ran meanwhile):
    (url, out_dir, cwd, tmpdir)."""
    proc, url, root = started
    deadline = time.time() + 180
    while True:
        if proc.poll() is not None:
            pytest.fail('tools/demo_app.py ended: ' +
                        (root / 'app.log').read_text()[-3000:])
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if time.time() > deadline:
                proc.kill()
                pytest.fail('tools/demo_app.py did not answer in 180 s: ' +
                            (root / 'app.log').read_text()[-3000:])
            time.sleep(0.5)
    return url, root / 'out', root / 'cwd', root / 'tmp'


def _detect(page, prompt, image=None):
    """Upload ``image`` (if given), type ``prompt``, press Detect."""
    if image is not None:
        clear = page.locator('#images button[aria-label="Clear"]')
        if clear.count():
            clear.first.click()
        page.locator('#images input[type=file]').first.set_input_files(
            str(image))
        page.locator(f'#images td.filename[aria-label="{image.name}"]'
                     ).wait_for()
    page.locator('#prompt textarea').fill(prompt)
    page.locator('#detect').click()


def _toast(page, text):
    """The page's error message box holding ``text``; closes it."""
    box = page.locator('[data-testid="toast-text"]', has_text=text).first
    box.wait_for(timeout=60000)
    message = box.inner_text()
    page.locator('[data-testid="toast-close"]').first.click()
    box.wait_for(state='detached')
    return message


def _status(page, after=''):
    """The status line, once it has changed from ``after``."""
    box = page.locator('#status textarea')
    page.wait_for_function(
        'a => { const t = document.querySelector("#status textarea"); '
        'return t && t.value && t.value !== a; }', arg=after, timeout=60000)
    return box.input_value()


def _screenshot(page, path):
    """The page as a small PNG (256 colours)."""
    import io

    from PIL import Image
    page.wait_for_function(  # every output shown, none pending
        '() => document.querySelectorAll(\'[data-testid="status-tracker"]'
        ':not(.hide)\').length === 0')
    page.wait_for_timeout(1000)  # the outputs' fade-in
    shot = Image.open(io.BytesIO(page.screenshot()))
    shot.convert('RGB').quantize(256).save(path, optimize=True)


def test_the_page_in_a_real_browser(server, cli, inputs):
    sync_playwright = _browser()
    url, out, cwd, tmp = server
    want, want_vis, cli_errors = cli
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=BROWSER_ARGS)
        page = browser.new_page(viewport={'width': 1100, 'height': 860})
        page.goto(url)
        # a shipped Raccoon image and a prompt
        _detect(page, PROMPT, inputs / IMAGE.name)
        status = _status(page)
        assert status == (f'{len(want["scores"])} detections in 1 '
                          f'image(s), written to {out}/requests/0001.')
        assert len(want['scores']) > 0
        # the drawn image is shown, at the image's size
        img = page.locator('#drawn img').first
        img.wait_for()
        page.wait_for_function('() => { const i = document.querySelector('
                               '"#drawn img"); return i && i.complete && '
                               'i.naturalWidth > 0; }')
        from PIL import Image
        assert img.evaluate('i => [i.naturalWidth, i.naturalHeight]') == \
            list(Image.open(IMAGE).size)
        # the table: the detections of tools/infer.py, best first
        page.locator('#table [data-testid="cell-0-0"]').wait_for()
        shown = min(3, len(want['scores']))
        rows = [[page.locator(f'#table [data-testid="cell-{r}-{c}"]')
                 .inner_text().strip() for c in range(7)]
                for r in range(shown)]
        assert rows == [
            [IMAGE.name, name, f'{round(score, 3):g}'] +
            [f'{round(v, 1):g}' for v in box]
            for name, score, box in zip(want['label_names'], want['scores'],
                                        want['bboxes'])][:shown]
        # what the page wrote: infer.py's JSON and drawing
        first = out / 'requests/0001'
        got = json.loads((first / f'preds/{IMAGE.stem}.json').read_text())
        assert got['bboxes'] == want['bboxes'] and \
            got['scores'] == want['scores']
        assert (first / f'vis/{IMAGE.name}').read_bytes() == want_vis
        # a file that is not an image: its one line, as the CLI says it
        _detect(page, PROMPT, inputs / 'notes.jpg')
        assert _toast(page, 'notes.jpg') == cli_errors['notes.jpg']
        # an empty prompt
        _detect(page, '', inputs / IMAGE.name)
        assert _toast(page, 'prompt') == ('the prompt is empty: give '
                                          'phrases such as "cat. remote '
                                          'control".')
        # and the next request works
        _detect(page, 'raccoon')
        assert _status(page, status).endswith(
            f'detections in 1 image(s), written to {out}/requests/0002.')
        if os.environ.get('MMGLIP_DEMO_SCREENSHOT'):  # the README's
            _screenshot(page, os.environ['MMGLIP_DEMO_SCREENSHOT'])
        browser.close()
    assert sorted(os.listdir(out / 'requests')) == ['0001', '0002']
    # nothing written outside the output folder
    assert os.listdir(cwd) == [] and os.listdir(tmp) == []


# ------------------------------------------------------ without a browser
def test_detect_gives_what_infer_gives(lite, inputs, cli):
    app, _ = lite
    drawn, rows, jsons, notes = app.detect([str(inputs / IMAGE.name)],
                                           PROMPT, THR)
    want, want_vis, _ = cli
    assert notes == '' and len(drawn) == len(jsons) == 1
    got = json.loads(open(jsons[0]).read())
    assert {k: v for k, v in got.items() if k != 'img_path'} == \
        {k: v for k, v in want.items() if k != 'img_path'}
    assert len(got['scores']) > 0 and got['texts'] == ['raccoon',
                                                       'trash can']
    assert open(drawn[0], 'rb').read() == want_vis  # drawn as infer draws
    assert [r[1:3] for r in rows] == [
        [n, round(s, 3)] for n, s in zip(want['label_names'],
                                         want['scores'])]
    assert rows[0][0] == IMAGE.name
    assert rows[0][3:] == [round(v, 1) for v in want['bboxes'][0]]


def test_bad_inputs_are_the_cli_one_line_and_the_app_goes_on(
        lite, inputs, cli, tmp_path):
    from mmglip.utils.cli import UserError
    app, _ = lite
    cli_errors = cli[2]
    before = _files(tmp_path)
    good = str(inputs / IMAGE.name)
    for name in ('notes.jpg', 'truncated.jpg'):
        with pytest.raises(UserError) as err:
            app.detect([str(inputs / name)], PROMPT, THR)
        assert str(err.value) == cli_errors[name]
        assert '\n' not in str(err.value)
    # next to a good image: the good one is drawn, the bad one named
    drawn, rows, jsons, notes = app.detect(
        [good, str(inputs / 'notes.jpg')], PROMPT, THR)
    assert len(drawn) == 1 and notes == cli_errors['notes.jpg']
    # an empty prompt: tools/infer.py's line, naming the prompt
    for prompt in ('', ' . ', None):
        with pytest.raises(UserError, match='^the prompt is empty: give '
                           'phrases such as "cat. remote control".$'):
            app.detect([good], prompt, THR)
    # a huge image is refused from its header, naming it
    from PIL import Image
    huge = tmp_path / 'huge.png'
    Image.new('L', (8000, 7000)).save(huge)
    with pytest.raises(UserError) as err:
        app.detect([str(huge)], PROMPT, THR)
    assert str(err.value) == (
        'huge.png: cannot read the image (8000 x 7000 pixels is more than '
        'the 50 megapixels this page takes (--max-pixels); scale it down '
        'first)')
    # only unreadable names: the CLI's warning, and the detections
    from mmglip.apis.inference import prompt_warnings
    drawn, rows, jsons, notes = app.detect([good], '\U0001F600', THR)
    assert notes == prompt_warnings(app.model, ['\U0001F600'])[0]
    assert 'only unknown tokens' in notes and len(drawn) == 1
    with pytest.raises(UserError, match='No image'):
        app.detect([], PROMPT, THR)
    # each request wrote its own folder under the output folder only
    assert _files(tmp_path) == before + ['huge.png']
    requests = sorted(os.listdir(os.path.join(app.out_dir, 'requests')))
    assert len(requests) == len(set(requests)) >= 3


def test_weights_of_another_variant_keep_the_loaded_model(lite, tmp_path):
    import torch
    from mmglip.utils.cli import UserError
    app, _ = lite
    model = app.model
    neck = model.fusion_neck
    # what tools/convert_official.py writes for a 4-block GLIP
    other = tmp_path / 'other_variant.pth'
    torch.save({'state_dict': {'bbox_head.x': torch.zeros(1)},
                'meta': dict(fusion=neck.early_fuse,
                             fusion_blocks=len(neck.blocks) + 2)}, other)
    with pytest.raises(UserError) as err:
        app.load('glip-lite', str(other))
    msg = str(err.value)
    assert '\n' not in msg and str(other) in msg
    assert 'another GLIP variant' in msg
    with pytest.raises(UserError, match='nope.pth: no such file'):
        app.load('glip-lite', str(tmp_path / 'nope.pth'))
    assert app.model is model  # still serving the model it had


def test_start_up_errors_are_one_line_before_the_model_is_built(
        demo_tool, tmp_path, capsys, monkeypatch):
    from mmglip.utils.cli import run_tool

    def no_build(*args, **kwargs):
        raise AssertionError('the model was built')
    monkeypatch.setattr(demo_tool.DemoApp, 'load', no_build)
    out = tmp_path / 'out'
    blocker = tmp_path / 'a_file'
    blocker.write_text('x')
    for argv, want in [
            (['--weights', str(tmp_path / 'nope.pth')],
             f'--weights {tmp_path / "nope.pth"}: no such file'),
            (['--pred-score-thr', '2'], '--pred-score-thr 2: scores lie in'),
            (['--port', '0'], '--port 0: give a port in 1-65535.'),
            (['glip-t_x'], "MODEL 'glip-t_x' is neither a config file nor"),
            (['--out-dir', str(blocker)], str(blocker))]:
        argv = argv if '--out-dir' in argv else argv + ['--out-dir', str(out)]
        assert run_tool(demo_tool.main, argv) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and want in lines[0], lines
    assert not out.exists()  # nothing written


def test_fewshot_tab_tunes_the_prompt_then_detect_uses_it(lite, inputs,
                                                          demo_tool):
    """A 1-epoch prompt-tuning run (the CPU schedule cut to one epoch: a
    full 1-shot run takes about 3 minutes on 2 cores)."""
    import re

    from mmglip.utils.cli import UserError
    app, _ = lite
    before = app.model, app.model_label, dict(app.loaded)
    try:
        with pytest.raises(UserError, match="^--tasks: unknown task "
                           "'Nosuchtask'"):
            list(app.tune('Nosuchtask'))
        assert app.model is before[0]
        steps = [(list(lines), loss) for lines, loss in app.tune(
            demo_tool.FEWSHOT_TASK, shots=1, seed=3, cfg_options=[
                'train_cfg.max_epochs=1', 'train_cfg.val_interval=1'])]
        lines, loss = steps[-1]
        assert len(steps) > 3  # shown as it went, not at the end only
        assert any(re.search(r'epoch 1/1.*ETA', ln) for ln in lines), lines
        assert re.fullmatch(r'epoch 1, loss [0-9.]+', loss), loss
        tuned = os.path.join(app.out_dir, 'fewshot', '0002', 'runs',
                             'raccoon_mini', 'prompt', 'shot1_seed3',
                             'weights_best.pth')
        assert lines[-1] == (f'Loaded glip-lite + {tuned}. Detect uses '
                             'them now.')
        assert app.model is not before[0]
        assert app.model.tuning_mode == 'prompt'
        assert app.model.prompt_embeddings.weight.abs().sum() > 0
        drawn, rows, jsons, notes = app.detect(
            [str(inputs / IMAGE.name)], 'raccoon', 0)
        assert len(drawn) == 1 and rows
    finally:
        app.model, app.model_label, app.loaded = before
