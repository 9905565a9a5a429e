"""Where to_odinw.py's output goes and where the benchmark reads an ODinW
task (issue 19 item 4): ``--task NAME --data-root ROOT`` writes to
``ROOT/<the task's root>`` with the split folders and classes the task
reads, so that ``tools/benchmark_fewshot.py --tasks NAME --data-root ROOT``
and the task config's datasets read it as it is; both helps and the
converter's last line say where a task must be. On small copies of the
shared Raccoon (VOC) and Aquarium (YOLO) data."""
import shutil

import pytest

from mmglip.benchmark import BenchmarkError, FewShotBenchmark, plan_runs
from mmglip.benchmark.run_config import check_task_files, load_task_config
from mmglip.datasets.odinw import odinw_config_path
from mmglip.utils.cli import run_tool
from .conftest import ANN, AQUARIUM, RACCOON, REPO, load, load_tool, need

MODEL = str(REPO / 'configs/glip_lite/glip-lite_raccoon-mini.py')
SCHEDULE = str(REPO / 'configs/_base_/schedules/odinw_fewshot_cpu.py')
RACCOON_ROOT = 'Raccoon/Raccoon.v2-raw.coco'  # Raccoon's task.root


def _voc_copy(folder, n=12, name=None):
    """The first ``n`` images of the shared Raccoon with their VOC files;
    every object renamed to ``name`` if given."""
    need(RACCOON)
    (folder / 'images').mkdir(parents=True)
    (folder / 'annotations').mkdir()
    for i in range(1, n + 1):
        shutil.copy(RACCOON / 'images' / f'raccoon-{i}.jpg',
                    folder / 'images')
        xml = (RACCOON / 'annotations' / f'raccoon-{i}.xml').read_text()
        if name is not None:
            xml = xml.replace('<name>raccoon</name>', f'<name>{name}</name>')
        (folder / 'annotations' / f'raccoon-{i}.xml').write_text(xml)
    return folder


def _yolo_copy(folder, n=2):
    """``n`` images per split of the shared Aquarium, with data.yaml."""
    need(AQUARIUM)
    for split in ('train', 'valid', 'test'):
        images = sorted((AQUARIUM / split / 'images').iterdir())[:n]
        for sub in ('images', 'labels'):
            (folder / split / sub).mkdir(parents=True)
        for image in images:
            shutil.copy(image, folder / split / 'images')
            shutil.copy(AQUARIUM / split / 'labels' / (image.stem + '.txt'),
                        folder / split / 'labels')
    shutil.copy(AQUARIUM / 'data.yaml', folder)
    return folder


def _convert(capsys, *argv):
    """to_odinw.py in-process: (exit status, stdout lines, stderr)."""
    main = load_tool('to_odinw').main
    capsys.readouterr()
    try:
        status = run_tool(main, [str(a) for a in argv])
    except SystemExit as exc:  # argparse's own usage errors
        status = exc.code
    out, err = capsys.readouterr()
    return status, out.splitlines(), err


def _one_error(status, err):
    assert status == 2, err
    assert 'Traceback' not in err
    lines = [line for line in err.splitlines() if 'error:' in line]
    assert len(lines) == 1, err
    return lines[0]


def _bench(work, data_root, task='Raccoon'):
    return FewShotBenchmark(MODEL, str(work), str(data_root),
                            {task: odinw_config_path(task)}, SCHEDULE)


def _dataset(task, data_root, role):
    """The task config's dataset of ``role`` ('train', 'val', 'test') as
    the benchmark builds it under ``data_root``."""
    from mmglip.registry import DATASETS
    cfg = load_task_config(odinw_config_path(task), str(data_root))
    return DATASETS.build(dict(cfg[f'{role}_dataloader'].dataset,
                               serialize_data=False))


def test_task_is_written_where_the_benchmark_reads_it(tmp_path, capsys):
    src = _voc_copy(tmp_path / 'src')
    root = tmp_path / 'odinw'
    root.mkdir()
    bench = _bench(tmp_path / 'work', root)
    specs = plan_runs(['Raccoon'], [0, 1], [3], ['full'])
    # before: the benchmark names the missing file and this very command
    with pytest.raises(BenchmarkError) as info:
        check_task_files(bench, specs)
    message = str(info.value)
    assert f'{root}/{RACCOON_ROOT}/train/{ANN} does not exist' in message
    assert f'to_odinw.py SRC --format FORMAT --task Raccoon --data-root ' \
        f'{root}' in message
    assert not (tmp_path / 'work').exists()  # nothing recorded

    status, out, err = _convert(capsys, src, '--task', 'Raccoon',
                                '--data-root', root, '--format', 'voc',
                                '--split', '0.5', '0.25', '0.25', '--link')
    assert status == 0, err
    assert out[-1] == (f'placed as ODinW task Raccoon: python tools/'
                       f'benchmark_fewshot.py MODEL --tasks Raccoon '
                       f'--data-root {root} reads it.')
    task_dir = root / RACCOON_ROOT
    assert sorted(p.name for p in task_dir.iterdir()) == [
        'test', 'train', 'valid']
    check_task_files(bench, specs)  # every split the runs read is there
    sizes = {}
    for role, folder in (('train', 'train'), ('val', 'valid'),
                         ('test', 'test')):
        dataset = _dataset('Raccoon', root, role)
        assert dataset.ann_file == str(task_dir / folder / ANN)
        assert dataset.metainfo['classes'] == ('raccoon', )
        sizes[role] = len(dataset)
        assert sizes[role] == len(load(task_dir / folder / ANN)['images'])
    assert sum(sizes.values()) == 12 and min(sizes.values()) > 0


def test_split_folders_follow_the_task(tmp_path, capsys):
    """EgoHands reads its val split from mini_val/: the converter's valid
    split goes there (images from the shared Raccoon, labels renamed to
    EgoHands' class)."""
    src = _voc_copy(tmp_path / 'src', name='hand')
    root = tmp_path / 'odinw'
    status, out, err = _convert(capsys, src, '--task', 'EgoHands',
                                '--data-root', root, '--format', 'voc',
                                '--split', '0.5', '0.25', '0.25')
    assert status == 0, err
    task_dir = root / 'EgoHands' / 'generic'
    assert sorted(p.name for p in task_dir.iterdir()) == [
        'mini_val', 'test', 'train']
    assert any(line.startswith('  mini_val:') for line in out)
    val = _dataset('EgoHands', root, 'val')
    assert val.ann_file == str(task_dir / 'mini_val' / ANN)
    assert len(val) == len(load(task_dir / 'mini_val' / ANN)['images']) > 0
    assert val.metainfo['classes'] == ('hand', )


@pytest.mark.parametrize('fmt, task, words', [
    ('voc', 'EgoHands', "objects named ['raccoon'] are not among the "
     "classes of ODinW task EgoHands (['hand'])"),
    ('yolo', 'Raccoon', "the source's classes ['fish', 'jellyfish', "
     "'penguin', 'puffin', 'shark', 'starfish', 'stingray'] are not those "
     "of ODinW task Raccoon (['raccoon'], in this order)"),
])
def test_classes_not_the_tasks_are_refused(tmp_path, capsys, fmt, task,
                                           words):
    src = (_voc_copy if fmt == 'voc' else _yolo_copy)(tmp_path / 'src')
    root = tmp_path / 'odinw'
    line = _one_error(*_convert(capsys, src, '--task', task, '--data-root',
                                root, '--format', fmt)[::2])
    assert words in line and 'Nothing was written' in line
    assert not root.exists() or not any(root.rglob('*.json'))


def test_split_the_task_reads_but_the_source_lacks_is_named(tmp_path,
                                                            capsys):
    """The Raccoon author's split has no test part: written as it is, with
    a warning naming the test folder the k-shot runs would read."""
    src = _voc_copy(tmp_path / 'src')
    (src / 'train.txt').write_text(
        '\n'.join(f'raccoon-{i}' for i in range(1, 9)) + '\n')
    (src / 'valid.txt').write_text(
        '\n'.join(f'raccoon-{i}' for i in range(9, 13)) + '\n')
    root = tmp_path / 'odinw'
    status, out, err = _convert(capsys, src, '--task', 'Raccoon',
                                '--data-root', root, '--format', 'voc',
                                '--split-lists', 'train=train.txt',
                                'valid=valid.txt')
    assert status == 0, err
    test_dir = root / RACCOON_ROOT / 'test'
    warning = [line for line in out if line.startswith('warning: ODinW')]
    assert warning == [
        f'warning: ODinW task Raccoon reads its test split from {test_dir}/, '
        'which this conversion did not write (the source has no test '
        'split), so the benchmark\'s runs that read it fail (zero-shot: '
        'val; k-shot: train, val and test); add that split to the source '
        '(or, for a source without splits, give --split with 3 ratios).']
    bench = _bench(tmp_path / 'work', root)
    check_task_files(bench, plan_runs(['Raccoon'], [0], [3], ['full']))
    with pytest.raises(BenchmarkError, match=f'{test_dir}/{ANN} does not '
                       'exist; the test split is missing from'):
        check_task_files(bench, plan_runs(['Raccoon'], [1], [3], ['full']))


def test_dst_output_says_where_a_task_must_be(tmp_path, capsys):
    """Without --task (DST given, here after the options) the last line
    says where the benchmark reads a task and how to get there."""
    src = _voc_copy(tmp_path / 'src', n=4)
    dst = tmp_path / 'out'
    status, out, err = _convert(capsys, src, '--format', 'voc', dst)
    assert status == 0, err
    assert (dst / 'train' / ANN).is_file()
    assert out[-1].startswith(
        'next: tools/benchmark_fewshot.py --tasks NAME --data-root ROOT '
        'reads ODinW task NAME from ROOT/<its root> (e.g. data/odinw/'
        'Raccoon/Raccoon.v2-raw.coco/; all roots: configs/_base_/datasets/'
        'odinw/README.md): --task NAME --data-root ROOT instead of DST '
        'converts straight there')
    assert str(dst) in out[-1]


def test_both_helps_say_where_a_task_is_read(capsys):
    from tests.tool_modules import load_tool as load_script
    with pytest.raises(SystemExit):
        load_tool('to_odinw').parse_args(['--help'])
    text = ' '.join(capsys.readouterr().out.split())
    assert '--task NAME --data-root ROOT' in text
    assert 'data/odinw/Packages/Raw/ for Packages' in text
    assert 'mini_val/ for EgoHands' in text
    with pytest.raises(SystemExit):
        load_script('tools/benchmark_fewshot.py').parse_args(['--help'])
    text = ' '.join(capsys.readouterr().out.split())
    assert 'task NAME is read from DATA_ROOT/<its root> (e.g. DATA_ROOT/' \
        'Packages/Raw/' in text
    assert 'to_odinw.py SRC --format F --task NAME --data-root DATA_ROOT' \
        in text


@pytest.mark.parametrize('argv, words', [
    (['--task', 'pistols'], '--task pistols: this task keeps all its '
     'images in one folder'),
    (['--task', 'Racoon'], "--task 'Racoon': no such ODinW task (did you "
     "mean 'Raccoon'?)"),
    (['--task', 'odinw13'], '--task odinw13: is a set of 13 tasks'),
    (['{tmp}/out', '--task', 'Raccoon'], 'give the output folder DST or '
     '--task NAME'),
    (['{tmp}/out', '--data-root', '{tmp}'], '--data-root goes with --task'),
    (['--task', 'Raccoon', '--data-root', '{tmp}/odinw', '--classes', 'dog',
      'raccoon'], '--classes dog raccoon: ODinW task Raccoon has the '
     'classes raccoon'),
    (['--task', 'Raccoon', '--data-root', '{tmp}/full'],
     f'--task Raccoon --data-root {{tmp}}/full: {{tmp}}/full/{RACCOON_ROOT}:'
     ' exists and is not an empty folder; the converter never overwrites: '
     'the task is there already'),
])
def test_bad_task_arguments_are_one_line(tmp_path, capsys, argv, words):
    src = _voc_copy(tmp_path / 'src', n=2)
    kept = tmp_path / 'full' / RACCOON_ROOT / 'train'
    kept.mkdir(parents=True)
    (kept / 'mine.txt').write_text('a user file')
    argv = [a.replace('{tmp}', str(tmp_path)) for a in argv]
    line = _one_error(*_convert(capsys, src, '--format', 'voc', *argv)[::2])
    assert words.replace('{tmp}', str(tmp_path)) in line
    assert (kept / 'mine.txt').read_text() == 'a user file'
    assert not (tmp_path / 'out').exists()
    assert not (tmp_path / 'odinw').exists()
