"""The runner of tools/train.py and tools/test.py, with mmengine's long dumps
in the run's log file only.

mmengine's ``Runner`` logs the system environment, the whole config and the
hooks' order at INFO while it is built, and its optimizer constructor one
line per parameter (each frozen one "is skipped since its
requires_grad=False", a WARNING; each ``paramwise_options`` setting): several
hundred lines on the console before anything happens. They stay in the log
file
(``<work_dir>/<timestamp>/<timestamp>.log``); the console gets one line
saying where they are. Records logged with ``extra={'file_only': True}``
(a traceback kept for the record, say) go to the log file only as well.
"""
import logging
from typing import Optional

#: how mmengine's dumps begin (Runner.__init__ / Runner._log_env)
DUMP_STARTS = ('Config:\n', 'Hooks will be executed in the following order')
DUMP_CONTAINS = ('\nSystem environment:', )
#: the optimizer constructor's per-parameter lines (mmengine's
#: DefaultOptimWrapperConstructor.add_params)
PER_PARAMETER = ('paramwise_options -- ', )
PER_PARAMETER_ENDS = (' is skipped since its requires_grad=False', )


def is_dump(record: logging.LogRecord) -> bool:
    msg = record.msg
    if getattr(record, 'file_only', False):
        return True
    if not isinstance(msg, str):
        return False
    return msg.startswith(DUMP_STARTS + PER_PARAMETER) or any(
        part in msg[:100] for part in DUMP_CONTAINS) or msg.endswith(
            PER_PARAMETER_ENDS)


class FileOnlyFilter(logging.Filter):
    """On a console handler: drops mmengine's dumps and ``file_only``
    records (the log file keeps them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not is_dump(record)


def log_file_of(logger: logging.Logger) -> Optional[str]:
    for handler in logger.handlers:
        if isinstance(handler, logging.FileHandler):
            return handler.baseFilename
    return None


def keep_dumps_in_log_file(logger: logging.Logger) -> None:
    """Filter the dumps out of ``logger``'s console handlers (those that
    are not file handlers) and say where they are. Only when the logger has
    a log file: otherwise nothing is filtered."""
    path = log_file_of(logger)
    if path is None:
        return
    for handler in logger.handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(
                handler, logging.FileHandler) and not any(
                    isinstance(f, FileOnlyFilter) for f in handler.filters):
            handler.addFilter(FileOnlyFilter())
    logger.info(f'mmengine\'s environment, config and hook dumps: in {path}')


def quiet_runner_class(cls):
    """A subclass of the runner class ``cls`` whose logger keeps the dumps
    in the log file (:func:`keep_dumps_in_log_file`)."""

    class QuietRunner(cls):

        def build_logger(self, *args, **kwargs):
            logger = super().build_logger(*args, **kwargs)
            keep_dumps_in_log_file(logger)
            return logger

    QuietRunner.__name__ = cls.__name__
    QuietRunner.__qualname__ = cls.__qualname__
    QuietRunner.__doc__ = cls.__doc__
    return QuietRunner


def build_runner(cfg):
    """The runner of ``cfg`` (``runner_type`` or mmengine's ``Runner``),
    built as ``RUNNERS.build(cfg)`` / ``Runner.from_cfg(cfg)`` would, with
    the dumps kept in the log file."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    cls = Runner
    if 'runner_type' in cfg:
        given = cfg.runner_type
        cls = given if isinstance(given, type) else RUNNERS.get(given)
        if cls is None:  # mmengine says what is wrong with it
            return RUNNERS.build(cfg)
    return quiet_runner_class(cls).from_cfg(cfg)


__all__ = ['build_runner', 'keep_dumps_in_log_file', 'FileOnlyFilter',
           'quiet_runner_class', 'log_file_of']
