"""mmengine's long dumps stay in the run's log file: the optimizer
constructor's per-parameter lines (a WARNING per frozen parameter, an INFO
per paramwise option) reach the file, not the console."""
import torch
from mmengine.logging import MMLogger
from mmengine.optim import DefaultOptimWrapperConstructor

from mmglip.utils.run_log import keep_dumps_in_log_file


def test_per_parameter_lines_go_to_the_log_file_only(tmp_path, capsys):
    log_file = tmp_path / 'run.log'
    logger = MMLogger.get_instance('test_run_log', log_file=str(log_file))
    keep_dumps_in_log_file(logger)
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2))
    model[0].weight.requires_grad_(False)
    constructor = DefaultOptimWrapperConstructor(
        dict(optimizer=dict(type='SGD', lr=0.1)),
        paramwise_cfg=dict(custom_keys={'1.': dict(lr_mult=0.1)}))
    # print_log(logger='current'): the newest MMLogger, the one above
    assert MMLogger.get_current_instance() is logger
    constructor(model)
    logger.info('a line every run shows')
    for handler in logger.handlers:
        handler.flush()
    console = capsys.readouterr()
    console = console.out + console.err
    text = log_file.read_text()
    assert '0.weight is skipped since its requires_grad=False' in text
    assert 'paramwise_options -- 1.weight:lr_mult=0.1' in text
    assert 'requires_grad=False' not in console
    assert 'paramwise_options' not in console
    assert 'a line every run shows' in console and 'dumps: in' in console
