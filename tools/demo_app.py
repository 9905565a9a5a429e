#!/usr/bin/env python
"""Try GLIP in a browser: a page to detect phrases in images.

    python tools/demo_app.py [MODEL] [--weights CKPT] [--port 7860]

Then open http://127.0.0.1:7860 (on a remote machine: ``ssh -L
7860:127.0.0.1:7860 HOST`` and open the same address on your own).

MODEL: a config file or a model name (default glip-lite), resolved as
``tools/infer.py`` resolves it; --weights as there; --onnx DIR runs the
networks in ONNX Runtime (or, with --backend openvino, in OpenVINO;
--precision bf16 there) from the folder tools/deploy/export_onnx.py wrote
for MODEL, as tools/infer.py does. The model is loaded once,
when the page starts, and reused for every request; another model (or
weights file on the server) can be loaded from the page.

On the page: upload one or several images (or pick a shipped example from
demo/data/raccoon_mini), type a prompt with the rules of ``tools/infer.py
--texts`` given one string (class names split at each ". ", "cat. remote
control"), set the score threshold and press Detect. You get the images
drawn as ``tools/infer.py`` draws them, a table of the detections (image,
phrase, score, box) and the JSON files in the format ``tools/infer.py``
writes, to download.

The Few-shot tab prompt-tunes the loaded model on an ODinW-layout task
(tools/benchmark_fewshot.py --modes prompt with the CPU schedule, in a
process of its own: the page goes on detecting meanwhile), shows its
progress and loss, then loads the tuned weights for Detect. On 2 CPU cores
a 1-shot run of glip-lite on demo/data/raccoon_mini takes about 3 minutes.

Everything is written under --out-dir: the uploaded files (uploads/), one
new folder per request (requests/NNNN/preds/*.json, vis/*) and per tuning
run (fewshot/NNNN/), never overwriting one. An input that cannot be used
(not an image, a truncated file, an image of more than --max-pixels, an
empty prompt, weights of another variant) is answered on the page with the
one-line message of the command-line tools; the server goes on serving.
"""
import argparse
import glob
import os
import os.path as osp
import re
import subprocess
import sys
import threading
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

from mmglip.utils.outputs import (output_names, output_paths,  # noqa: E402
                                  prediction)
from mmglip.utils.cli import (HelpFormatter, UserError,  # noqa: E402
                              add_debug_flag, check_device,
                              check_writable_dir, one_line, run_tool,
                              user_error_types)
from mmglip.utils.images import ImageError  # noqa: E402
from mmglip.utils.io import atomic_write_json  # noqa: E402


#: the shipped example images the page offers
EXAMPLE_DIR = osp.join(REPO, 'demo', 'data', 'raccoon_mini', 'test')
EXAMPLES = ['raccoon-134.jpg', 'raccoon-29.jpg', 'raccoon-158.jpg']
#: the few-shot tab's schedule and default task
FEWSHOT_SCHEDULE = osp.join(REPO, 'configs', '_base_', 'schedules',
                            'odinw_fewshot_cpu.py')
FEWSHOT_TASK = osp.join('configs', '_base_', 'datasets', 'raccoon_mini.py')
#: columns of the detection table
TABLE_HEADERS = ['image', 'phrase', 'score', 'x1', 'y1', 'x2', 'y2']


def check_source(weights, key, what):
    """tools/infer.py's check of --weights (mmglip.weights.load): a file
    with ``key`` weights or a zoo name."""
    from mmglip.weights.load import check_source as check
    check(weights, key, what)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=HelpFormatter)
    p.add_argument('model', nargs='?', default='glip-lite',
                   help='config file or model name')
    p.add_argument('--weights', help='checkpoint: an official GLIP file, an '
                   'mmglip checkpoint or a zoo name (default: the model\'s '
                   'initialisation, pretrained parts only)')
    p.add_argument('--weights-key', default='model',
                   choices=['model', 'model_ema'])
    p.add_argument('--onnx', metavar='DIR',
                   help='run the networks in ONNX Runtime (or --backend) '
                   'from the folder tools/deploy/export_onnx.py wrote for '
                   'MODEL')
    p.add_argument('--backend', default='onnxruntime',
                   choices=['onnxruntime', 'openvino'],
                   help='with --onnx: the runtime (as tools/infer.py)')
    p.add_argument('--precision', default='fp32', choices=['fp32', 'bf16'],
                   help='with --onnx and --backend openvino: bf16 computes '
                   'the detector in bfloat16 (faster; detections drift)')
    p.add_argument('--device', default='cpu', help='cpu, cuda or cuda:N')
    p.add_argument('--language-model',
                   help='hub id or local directory of the text encoder '
                   '(default: the config\'s)')
    p.add_argument('--host', default='127.0.0.1',
                   help='address to serve on (0.0.0.0: every interface; '
                   'the page has no login)')
    p.add_argument('--port', type=int, default=7860)
    p.add_argument('--out-dir', default=osp.join('outputs', 'demo_app'),
                   help='where uploads and each request\'s outputs go')
    p.add_argument('--pred-score-thr', type=float, default=0.3,
                   help='the page\'s initial score threshold')
    p.add_argument('--max-pixels', type=float, default=50e6,
                   help='larger images (width x height) are refused')
    add_debug_flag(p)
    args = p.parse_args(argv)
    if not 0 <= args.pred_score_thr <= 1:  # NaN fails too
        raise UserError(
            f'--pred-score-thr {args.pred_score_thr:g}: scores lie in '
            '[0, 1]; give a threshold between 0 and 1 (e.g. 0.3).')
    if not 0 < args.port < 65536:
        raise UserError(f'--port {args.port}: give a port in 1-65535.')
    return args


def check_image_size(path, max_pixels, name=None):
    """Refuse an image of more than ``max_pixels`` from its header alone
    (before anything decodes it); other read failures are left to the
    inference, which names them as the CLI does."""
    from PIL import Image
    try:
        with Image.open(path) as img:
            width, height = img.size
    except Exception:  # noqa: BLE001 (named by the inference)
        return
    if width * height > max_pixels:
        raise ImageError(
            name or path,
            f'{width} x {height} pixels is more than the '
            f'{max_pixels / 1e6:g} megapixels this page takes '
            '(--max-pixels); scale it down first')


class DemoApp:
    """The page's work, without the page: one model, loaded once and
    reused; each request's outputs in a new folder under ``out_dir``."""

    def __init__(self, out_dir, device='cpu', language_model=None,
                 max_pixels=50e6):
        self.out_dir = osp.abspath(out_dir)
        self.device = device
        self.language_model = language_model
        self.max_pixels = max_pixels
        self.model = None
        self.model_label = ''
        self.loaded = dict(model=None, weights=None, weights_key='model',
                           onnx=None, cfg_options=None,
                           backend='pytorch', precision='fp32')
        self._lock = threading.Lock()

    # ------------------------------------------------------------- model
    def load(self, model='glip-lite', weights=None, weights_key='model',
             onnx=None, cfg_options=None, backend='onnxruntime',
             precision='fp32'):
        """Build ``model`` (a config or name) with ``weights`` (and, with
        ``onnx``, its networks in ``backend``, ONNX Runtime or OpenVINO at
        ``precision``, from that exported folder);
        everything is checked first, so a bad choice keeps the model already
        loaded. Returns one line saying what is loaded."""
        model = (model or '').strip() or 'glip-lite'
        weights = (weights or '').strip() or None
        if weights:
            check_source(weights, weights_key, '--weights')
        from mmglip.apis import init_model
        from mmglip.apis.inference import resolve_config
        config = resolve_config(model)
        backend = backend if onnx else 'pytorch'
        runtime = dict(onnxruntime='ONNX Runtime', openvino='OpenVINO').get(
            backend, backend) + (f' {precision}' if precision != 'fp32'
                                 else '')
        with self._lock:
            built = init_model(config, weights, self.device, weights_key,
                               self.language_model, cfg_options,
                               backend=backend, onnx=onnx or None,
                               precision=precision)
            self.model = built
            self.loaded = dict(model=model, weights=weights,
                               weights_key=weights_key, onnx=onnx,
                               cfg_options=cfg_options, backend=backend,
                               precision=precision)
            self.model_label = model + (f' + {weights}' if weights else
                                        ' (no weights: its initialisation)'
                                        ) + (f' in {runtime} ({onnx})'
                                             if onnx else '')
        return f'Loaded {self.model_label}.'

    # ----------------------------------------------------------- detect
    def _new_request_dir(self, kind='requests'):
        root = osp.join(self.out_dir, kind)
        os.makedirs(root, exist_ok=True)
        number = len(os.listdir(root)) + 1
        while True:  # never reuse a folder (nothing is overwritten)
            path = osp.join(root, f'{number:04d}')
            try:
                os.makedirs(path)
                return path
            except FileExistsError:
                number += 1

    def detect(self, files, prompt, score_thr=0.3, progress=None):
        """Detect the prompt's names in the image files.

        Returns ``(drawn, rows, json_files, message)``: the drawn images
        (paths), the table rows (image, phrase, score, x1, y1, x2, y2), the
        prediction files and one line per image that could not be read /
        per warning about the prompt. A user error (no image, empty prompt,
        no image readable) raises :class:`UserError` with the one line.
        """
        from mmglip.apis import iter_inference
        from mmglip.apis.inference import prompt_names, prompt_warnings
        from mmglip.visualization import draw_predictions
        if self.model is None:
            raise UserError('No model is loaded; load one first.')
        names = prompt_names(prompt or '', 'the prompt')
        if score_thr is None or not 0 <= float(score_thr) <= 1:
            raise UserError(f'score threshold {score_thr}: scores lie in '
                            '[0, 1]; give one between 0 and 1.')
        paths = [f if isinstance(f, str) else getattr(f, 'name', f)
                 for f in (files or [])]
        if not paths:
            raise UserError('No image: upload one (or pick an example) '
                            'first.')
        shown = {p: osp.basename(p) for p in paths}  # the names as uploaded
        notes = list(prompt_warnings(self.model, names))
        todo = []
        for path in paths:
            try:
                check_image_size(path, self.max_pixels, shown[path])
                todo.append(path)
            except ImageError as exc:
                notes.append(one_line(exc))
        out_names = output_names(todo) if todo else {}
        drawn, rows, jsons = [], [], []
        request_dir = None
        with self._lock:
            for i, res in enumerate(iter_inference(self.model, todo, names)):
                if progress is not None:
                    progress((i + 1, len(todo)), desc='images done')
                if res.error is not None:
                    err = res.error
                    if isinstance(err, ImageError) and err.reason:
                        err = ImageError(shown[res.source], err.reason)
                    notes.append(one_line(err))
                    continue
                request_dir = request_dir or self._new_request_dir()
                pred = prediction(res, names, float(score_thr))
                out = output_paths(request_dir, out_names[res.source],
                                   res.source, True)
                os.makedirs(osp.dirname(out['vis']), exist_ok=True)
                draw_predictions(res.source, pred, out['vis'],
                                 class_names=names)
                atomic_write_json(out['pred'], pred)
                drawn.append(out['vis'])
                jsons.append(out['pred'])
                rows += [[shown[res.source], n, round(s, 3)] +
                         [round(v, 1) for v in b]
                         for n, s, b in zip(pred['label_names'],
                                            pred['scores'], pred['bboxes'])]
        if not drawn:
            raise UserError('; '.join(notes) if notes else
                            'No image could be read.')
        return drawn, rows, jsons, '\n'.join(notes)

    # --------------------------------------------------------- few-shot
    def tune(self, task, data_root=None, shots=1, seed=3, cfg_options=()):
        """Prompt-tune the loaded model on ``task`` (an ODinW task name or
        a dataset config; ``data_root`` as --data-root): a run of
        tools/benchmark_fewshot.py --modes prompt on the CPU schedule, in a
        process of its own. Yields ``(lines, loss)`` as it goes (its
        progress lines; the latest training loss), and at the end loads
        the tuned weights. A failed run raises :class:`UserError` with its
        error line; the loaded model is kept then."""
        if self.model is None or self.loaded['onnx']:
            raise UserError('Prompt tuning needs a PyTorch model: load one '
                            '(without --onnx) first.')
        task = (task or '').strip()
        if not task:
            raise UserError('Name the task: an ODinW task name or a dataset '
                            f'config, e.g. {FEWSHOT_TASK}.')
        if osp.exists(task):  # a config, relative to where the page runs
            task = osp.abspath(task)
        work = self._new_request_dir('fewshot')
        cmd = [sys.executable, osp.join(REPO, 'tools',
                                        'benchmark_fewshot.py'),
               self.loaded['model'], '--tasks', task, '--shots',
               str(int(shots)), '--seeds', str(int(seed)), '--modes',
               'prompt', '--schedule', FEWSHOT_SCHEDULE, '--work-dir', work]
        if self.loaded['weights']:
            cmd += ['--weights', self.loaded['weights']]
        if (data_root or '').strip():
            cmd += ['--data-root', osp.abspath(data_root.strip())]
        if cfg_options:
            cmd += ['--cfg-options', *cfg_options]
        lines, loss = [f'Prompt tuning in {work}'], ''
        yield lines, loss
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True,
                                bufsize=1)
        try:
            for line in proc.stdout:
                line = line.rstrip()
                if line.startswith(('[benchmark]', 'error:')):
                    lines.append(line)
                    loss = _last_loss(work) or loss
                    yield lines[-40:], loss
        finally:
            if proc.wait() is None:  # pragma: no cover
                proc.kill()
        if proc.returncode != 0:
            errors = [ln[len('error: '):] for ln in lines
                      if ln.startswith('error:')]
            raise UserError(errors[-1] if errors else
                            f'the tuning run failed (exit status '
                            f'{proc.returncode}); its log is in {work}.')
        best = sorted(glob.glob(osp.join(work, 'runs', '*', 'prompt', '*',
                                         'weights_best.pth')))
        if not best:
            raise UserError(f'the tuning run left no weights in {work}.')
        loss = _last_loss(work) or loss
        # the tuned prompt's offset lives in the prompt-tuning model only
        lines.append(self.load(self.loaded['model'], best[-1], 'model',
                               cfg_options={'model.tuning_mode': 'prompt'})
                     + ' Detect uses them now.')
        yield lines[-40:], loss


def _last_loss(work):
    """``epoch E, loss L`` of the newest training log line under
    ``work``, or ''."""
    logs = sorted(glob.glob(osp.join(work, 'runs', '*', '*', '*', '*',
                                     '*.log')), key=osp.getmtime)
    if not logs:
        return ''
    with open(logs[-1], errors='replace') as f:
        found = re.findall(r'Epoch\(train\)\s*\[(\d+)\].*?\bloss: '
                           r'([0-9.]+)', f.read())
    return f'epoch {found[-1][0]}, loss {found[-1][1]}' if found else ''


# ------------------------------------------------------------------- page
def build_page(app, score_thr=0.3):
    """The gradio Blocks of the page around ``app`` (a :class:`DemoApp`)."""
    import gradio as gr

    def user_errors(fn):
        """A user error becomes its one line on the page (gr.Error); the
        server goes on."""
        def wrapped(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except user_error_types() as exc:
                raise gr.Error(one_line(exc), print_exception=False)
        return wrapped

    @user_errors
    def detect(files, prompt, thr, progress=gr.Progress()):
        drawn, rows, jsons, notes = app.detect(files, prompt, thr, progress)
        for note in notes.splitlines():
            gr.Warning(note)
        folder = osp.dirname(osp.dirname(jsons[0]))
        status = (f'{len(rows)} detections in {len(drawn)} image(s), '
                  f'written to {folder}.' + (f' {notes}' if notes else ''))
        return drawn, rows, jsons, status

    @user_errors
    def load(model, weights):
        return app.load(model, weights)

    def tune(task, data_root, shots, seed):
        try:
            for lines, loss in app.tune(task, data_root, shots, seed):
                yield '\n'.join(lines), loss, f'Loaded {app.model_label}.'
        except user_error_types() as exc:
            raise gr.Error(one_line(exc), print_exception=False)

    with gr.Blocks(title='mmglip: GLIP grounding demo') as page:
        gr.Markdown('## GLIP: find phrases in images\nUpload images (or '
                    'pick an example), name what to find ("raccoon. trash '
                    'can": names split at each ". "), press Detect.')
        with gr.Tab('Detect', elem_id='detect-tab'):
            with gr.Row():
                with gr.Column():
                    files = gr.File(label='Images', file_count='multiple',
                                    elem_id='images')
                    prompt = gr.Textbox(label='Prompt', elem_id='prompt',
                                        placeholder='raccoon. trash can')
                    thr = gr.Slider(0, 1, value=score_thr, step=0.01,
                                    label='Score threshold', elem_id='thr')
                    button = gr.Button('Detect', variant='primary',
                                       elem_id='detect')
                    gr.Examples([[[osp.join(EXAMPLE_DIR, e)], 'raccoon']
                                 for e in EXAMPLES], [files, prompt],
                                label='Shipped examples (demo/data/'
                                'raccoon_mini)')
                with gr.Column():
                    gallery = gr.Gallery(label='Detections', elem_id='drawn',
                                         columns=2, height='auto')
                    status = gr.Textbox(label='Status', elem_id='status',
                                        interactive=False)
                    table = gr.Dataframe(headers=TABLE_HEADERS,
                                         label='Detections (boxes in pixels)',
                                         elem_id='table', interactive=False)
                    jsons = gr.File(label='JSON (as tools/infer.py writes)',
                                    file_count='multiple', elem_id='json')
            with gr.Accordion('Model', open=False):
                with gr.Row():
                    model = gr.Textbox(label='Model (config or name)',
                                       value='glip-lite', elem_id='model')
                    weights = gr.Textbox(label='Weights (a file on the server '
                                         'or a zoo name)', elem_id='weights')
                load_button = gr.Button('Load model', elem_id='load')
                loaded = gr.Textbox(label='Loaded', value=f'Loaded '
                                    f'{app.model_label}.', interactive=False,
                                    elem_id='loaded')
        with gr.Tab('Few-shot: tune the prompt', elem_id='fewshot-tab'):
            gr.Markdown(
                'Prompt-tune the loaded model on an ODinW-layout task '
                '(`tools/benchmark_fewshot.py --modes prompt`, the CPU '
                'schedule: about 3 minutes for 1 shot of glip-lite on 2 '
                'cores); the tuned weights are then loaded for Detect '
                '(prompt: the task\'s class names).')
            with gr.Row():
                task = gr.Textbox(label='Task (ODinW task name or dataset '
                                  'config)', value=FEWSHOT_TASK,
                                  elem_id='task')
                data_root = gr.Textbox(label='Data root (--data-root; '
                                       'empty: data/odinw)',
                                       elem_id='data_root')
                shots = gr.Dropdown([1, 3, 5, 10], value=1, label='Shots',
                                    elem_id='shots')
                seed = gr.Number(value=3, precision=0, label='Seed',
                                 elem_id='seed')
            tune_button = gr.Button('Tune the prompt', variant='primary',
                                    elem_id='tune')
            tune_loss = gr.Textbox(label='Training loss', elem_id='loss',
                                   interactive=False)
            tune_log = gr.Textbox(label='Progress', lines=8, max_lines=20,
                                  elem_id='tune_log', interactive=False)
        button.click(detect, [files, prompt, thr],
                     [gallery, table, jsons, status])
        prompt.submit(detect, [files, prompt, thr],
                      [gallery, table, jsons, status])
        load_button.click(load, [model, weights], [loaded])
        # a run of its own in the queue: detection goes on meanwhile
        tune_button.click(tune, [task, data_root, shots, seed],
                          [tune_log, tune_loss, loaded],
                          concurrency_limit=1, concurrency_id='tune')
    return page


def main(argv=None):
    args = parse_args(argv)
    # what the user gave is checked before anything is built or written
    if not args.onnx and (args.backend != 'onnxruntime'
                          or args.precision != 'fp32'):
        raise UserError('--backend / --precision choose how the --onnx '
                        'folder runs: give --onnx DIR (an export of '
                        'tools/deploy/export_onnx.py) too.')
    if args.onnx:  # the runtime takes the precision (bf16: OpenVINO only)
        from mmglip.deploy.runtime import check_backend
        check_backend(args.backend, args.precision)
    if args.weights:
        check_source(args.weights, args.weights_key, '--weights')
    from mmglip.apis.inference import resolve_config
    resolve_config(args.model)
    check_device(args.device)
    out_dir = osp.abspath(args.out_dir)
    check_writable_dir(out_dir, '--out-dir')
    # gradio keeps uploads and served files in its temp folder: the chosen
    # output folder, so that nothing is written anywhere else
    os.environ['GRADIO_TEMP_DIR'] = osp.join(out_dir, 'uploads')
    os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
    app = DemoApp(out_dir, args.device, args.language_model,
                  args.max_pixels)
    t0 = time.time()
    print(app.load(args.model, args.weights, args.weights_key, args.onnx,
                   backend=args.backend, precision=args.precision)
          + f' ({time.time() - t0:.0f} s)', flush=True)
    import gradio as gr
    page = build_page(app, args.pred_score_thr)
    page.queue(default_concurrency_limit=1)
    font = ['ui-sans-serif', 'system-ui', 'sans-serif']  # nothing fetched
    page.launch(server_name=args.host, server_port=args.port,
                allowed_paths=[out_dir, EXAMPLE_DIR], ssr_mode=False,
                footer_links=[], quiet=False,
                theme=gr.themes.Default(font=font,
                                        font_mono=['ui-monospace',
                                                   'monospace']))
    return 0


if __name__ == '__main__':
    sys.exit(run_tool(main))
