"""The result of the annotation checks of :mod:`mmglip.datasets.validation`:
the two issue levels, one :class:`DataIssue` per problem found, the
:class:`ValidationReport` of a file (its issues) and
:class:`ODinWDataError`, raised when a report has errors.

:class:`~mmglip.datasets.ODinWDataset` raises or warns with a report's
:meth:`ValidationReport.format`; ``tools/dataset_converters/check_odinw.py``
prints it.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from mmglip.errors import UserError

ERROR = 'error'
WARNING = 'warning'


class ODinWDataError(UserError, ValueError):
    """Annotations or images that cannot be used as they are."""


@dataclass
class DataIssue:
    """One problem found in an annotation file."""
    level: str          # 'error' or 'warning'
    kind: str           # e.g. 'missing_image', 'box_outside', 'zero_area'
    message: str        # names file, image, annotation id, value, action
    ann_file: str = ''
    image: Optional[str] = None
    ann_id: Optional[int] = None
    value: object = None

    def __str__(self) -> str:
        return f'[{self.level}] {self.message}'


@dataclass
class ValidationReport:
    """All issues of one file (what loading does with a box is
    :func:`mmglip.datasets.validation.fix_box`, applied by the dataset)."""
    ann_file: str
    issues: List[DataIssue] = field(default_factory=list)

    @property
    def errors(self) -> List[DataIssue]:
        return [i for i in self.issues if i.level == ERROR]

    @property
    def warnings(self) -> List[DataIssue]:
        return [i for i in self.issues if i.level == WARNING]

    def add(self, level, kind, message, **kwargs) -> None:
        self.issues.append(
            DataIssue(level, kind, message, ann_file=self.ann_file, **kwargs))

    def format(self, level: Optional[str] = None,
               max_items: Optional[int] = 20) -> str:
        """The issues (of one level, or all) as text, at most ``max_items``
        of each kind (``None`` or 0: all), with a count of the rest."""
        if not max_items or max_items < 0:
            max_items = len(self.issues)
        chosen = [i for i in self.issues if level is None or i.level == level]
        if not chosen:
            return f'{self.ann_file}: no problems found.'
        n_err = sum(i.level == ERROR for i in chosen)
        n_warn = len(chosen) - n_err
        lines = [f'{self.ann_file}: {n_err} error(s), {n_warn} warning(s)']
        shown: Dict[str, int] = {}
        for issue in chosen:
            shown[issue.kind] = shown.get(issue.kind, 0) + 1
            if shown[issue.kind] <= max_items:
                lines.append(f'  {issue}')
        for kind, count in shown.items():
            if count > max_items:
                lines.append(f'  ... and {count - max_items} more '
                             f'{kind!r} issue(s) of the same kind')
        return '\n'.join(lines)

    def raise_if_errors(self, max_items: int = 20) -> None:
        if self.errors:
            raise ODinWDataError(self.format(ERROR, max_items))

    def summary(self) -> str:
        return (f'{len(self.errors)} error(s), {len(self.warnings)} '
                'warning(s)')


__all__ = [
    'ERROR', 'WARNING', 'ODinWDataError', 'DataIssue', 'ValidationReport'
]
