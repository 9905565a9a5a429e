"""Few-shot results -> CSV / JSON, a markdown table and a plot (no torch)."""
import csv
import json
import math
import os
from collections import defaultdict
from typing import Dict, List, Sequence

from mmglip.utils.io import atomic_write, atomic_write_text

SHOT_ORDER = ['0', '1', '3', '5', '10', 'all']


def shot_key(shot) -> str:
    return str(shot)


def _mean_std(values: Sequence[float]):
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean)**2 for v in values) / (n - 1)) \
        if n > 1 else 0.0
    return mean, std


def aggregate(results: List[Dict]) -> Dict:
    """Per (mode, task, shot): mean, std and number of seeds of test AP; and
    per (mode, shot) the average over tasks of the per-task means (the
    paper's "average over the 13 tasks"), only where every task has it."""
    by_cell = defaultdict(list)
    for r in results:
        by_cell[(r['mode'], r['task'], shot_key(r['shot']))].append(r['ap'])
    cells = {
        key: dict(zip(('mean', 'std'), _mean_std(v)), n=len(v))
        for key, v in by_cell.items()
    }
    tasks = sorted({k[1] for k in cells})
    average = {}
    for mode, shot in {(k[0], k[2]) for k in cells}:
        per_task = [cells.get((mode, t, shot)) for t in tasks]
        if all(per_task):
            means = [c['mean'] for c in per_task]
            # spread of the task average over seeds, as the paper reports it
            stds = [c['std'] for c in per_task]
            average[(mode, shot)] = dict(
                mean=sum(means) / len(means),
                std=math.sqrt(sum(s * s for s in stds)) / len(stds),
                n=min(c['n'] for c in per_task))
    return dict(cells=cells, average=average, tasks=tasks)


def _fmt(cell) -> str:
    if cell is None:
        return '-'
    if cell['n'] > 1:
        return f'{cell["mean"]:.1f} ± {cell["std"]:.1f}'
    return f'{cell["mean"]:.1f}'


def _shot_header(shots) -> str:
    return ' | '.join(
        f'{s}-shot' if s not in ('0', 'all') else
        ('zero-shot' if s == '0' else 'all data') for s in shots)


def comparison_table(agg: Dict, baselines: Sequence[str] = ()) -> str:
    """The models of one call side by side: a row per model and tuning mode
    (``model, mode`` series), columns shots; the task's AP, or the average
    over the tasks. A closed-set baseline has no zero-shot ("-")."""
    shots = [s for s in SHOT_ORDER if any(k[2] == s for k in agg['cells'])]
    tasks = agg['tasks']
    over = (f'on {tasks[0]}' if len(tasks) == 1 else
            f'average over the {len(tasks)} tasks')
    lines = [f'### Models compared: AP ({over}; mean ± std over seeds)', '',
             '| model | tuning | ' + _shot_header(shots) + ' |',
             '|---' * (len(shots) + 2) + '|']
    for series in _series_order(agg, baselines):
        model, mode = series.rsplit(', ', 1)
        if series in baselines:
            model += ' (closed-set baseline)'
        if len(tasks) == 1:
            cells = [agg['cells'].get((series, tasks[0], s)) for s in shots]
        else:
            cells = [agg['average'].get((series, s)) for s in shots]
        lines.append(f'| {model} | {mode} | ' +
                     ' | '.join(_fmt(c) for c in cells) + ' |')
    lines.append('')
    return '\n'.join(lines)


def _series_order(agg: Dict, baselines: Sequence[str] = ()) -> List[str]:
    """Tuning modes (one model) or ``model, mode`` series (several), GLIP
    models first, baselines after, each in the order given."""
    found = agg.get('order') or sorted({k[0] for k in agg['cells']})
    return [s for s in found if s not in baselines] + \
        [s for s in found if s in baselines]


def markdown_table(agg: Dict, baselines: Sequence[str] = ()) -> str:
    """One table per tuning mode (per model and mode when several models
    ran: ``model, mode``): rows tasks + average, columns shots."""
    modes = _series_order(agg, baselines)
    shots = [s for s in SHOT_ORDER if any(k[2] == s for k in agg['cells'])]
    lines = []
    for mode in modes:
        what = (f'{mode.rsplit(", ", 1)[0]} (closed-set baseline), '
                f'{mode.rsplit(", ", 1)[1]}' if mode in baselines else mode)
        lines.append(f'### {what} tuning: AP (mean ± std over seeds), '
                     'trained runs on the test split')
        lines.append('')
        if '0' in shots:
            lines.append('Zero-shot as published: AP on each task\'s official '
                         'evaluation split (val; minival where the task has '
                         'one), no training.')
            lines.append('')
        lines.append('| task | ' + _shot_header(shots) + ' |')
        lines.append('|---' * (len(shots) + 1) + '|')
        for task in agg['tasks']:
            lines.append(f'| {task} | ' + ' | '.join(
                _fmt(agg['cells'].get((mode, task, s))) for s in shots) +
                ' |')
        if len(agg['tasks']) > 1:
            lines.append(f'| **average ({len(agg["tasks"])} tasks)** | ' +
                         ' | '.join(
                             _fmt(agg['average'].get((mode, s)))
                             for s in shots) + ' |')
        lines.append('')
    return '\n'.join(lines)


#: columns of results.csv rounded to :data:`CSV_DECIMALS` decimals
ROUNDED = ('ap', 'ap50', 'val_best_ap', 'seconds')
#: decimals of the AP columns (and seconds) in results.csv: those of the
#: table; mmdet's COCO metric gives AP to 3 decimals of a fraction, i.e. 1
#: decimal in %, so nothing is lost (results.json keeps the values as
#: computed)
CSV_DECIMALS = 1


def csv_row(result: Dict) -> Dict:
    """A result as results.csv writes it: AP (%) and seconds rounded to
    :data:`CSV_DECIMALS` decimals, as the table shows them (``0.9``, not
    ``0.8999999999999999``)."""
    return {k: (f'{v:.{CSV_DECIMALS}f}' if k in ROUNDED and
                isinstance(v, (int, float)) and not isinstance(v, bool)
                else v) for k, v in result.items()}


def write_reports(results: List[Dict], out_dir: str) -> Dict[str, str]:
    """Write results.json (the results as computed), results.csv (AP in %
    and seconds with :data:`CSV_DECIMALS` decimals, as the table), table.md
    and ap_vs_shots.png."""
    os.makedirs(out_dir, exist_ok=True)
    paths = {
        name: os.path.join(out_dir, name)
        for name in ('results.json', 'results.csv', 'table.md',
                     'ap_vs_shots.png')
    }
    models = []
    for r in results:
        if r.get('model') not in models:
            models.append(r.get('model'))
    results = sorted(results, key=lambda r: (
        models.index(r.get('model')), r['mode'], r['task'],
        SHOT_ORDER.index(str(r['shot'])), r['seed']))
    atomic_write_text(paths['results.json'], json.dumps(results, indent=1))
    fields = ['model', 'mode', 'task', 'shot', 'seed', 'ap', 'ap50',
              'val_best_ap', 'epochs', 'seconds', 'eval_file']
    with atomic_write(paths['results.csv'], newline='') as f:
        writer = csv.DictWriter(f, fields, extrasaction='ignore')
        writer.writeheader()
        writer.writerows(csv_row(r) for r in results)
    if len(models) > 1:  # series: "model, mode"
        series = [dict(r, mode=f'{r.get("model")}, {r["mode"]}')
                  for r in results]
    else:
        series = results
    agg = aggregate(series)
    order = []
    for r in series:
        if r['mode'] not in order:
            order.append(r['mode'])
    agg['order'] = order
    baselines = sorted({r['mode'] for r in series if r.get('baseline')})
    text = markdown_table(agg, baselines)
    if len(models) > 1:
        text = comparison_table(agg, baselines) + '\n' + text
    atomic_write_text(paths['table.md'], text)
    plot(agg, paths['ap_vs_shots.png'], baselines)
    return paths


def plot(agg: Dict, path: str, baselines: Sequence[str] = ()) -> None:
    """AP against shots: a curve per task and mode (per model and mode when
    several models ran), the task average thick; closed-set baselines
    dashed with triangles."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    shots = [s for s in SHOT_ORDER if any(k[2] == s for k in agg['cells'])]
    xs = list(range(len(shots)))
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for mode in _series_order(agg, baselines):
        style = dict(linestyle='--', marker='^') if mode in baselines else \
            dict(linestyle='-', marker='o')
        name = f'{mode}, closed-set baseline' if mode in baselines else mode
        for task in agg['tasks']:
            pts = [(x, agg['cells'].get((mode, task, s)))
                   for x, s in zip(xs, shots)]
            pts = [(x, c) for x, c in pts if c]
            ax.errorbar([x for x, _ in pts], [c['mean'] for _, c in pts],
                        yerr=[c['std'] for _, c in pts], **style,
                        linewidth=1, alpha=0.5 if len(agg['tasks']) > 1
                        else 1, label=f'{task} ({name})', capsize=3)
        avg = [(x, agg['average'].get((mode, s))) for x, s in zip(xs, shots)]
        avg = [(x, c) for x, c in avg if c]
        if len(agg['tasks']) > 1 and avg:
            ax.plot([x for x, _ in avg], [c['mean'] for _, c in avg],
                    marker='s', linewidth=3, label=f'average ({name})',
                    linestyle=style['linestyle'])
    ax.set_xticks(xs, ['zero' if s == '0' else s for s in shots])
    ax.set_xlabel('shots per category')
    ax.set_ylabel('test AP')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_write(path, 'wb') as f:
        fig.savefig(f, format='png')
    plt.close(fig)
