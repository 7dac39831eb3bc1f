"""Bad input of the raw data sets: the error a bad sample raises, and the
record of the samples skipped with ``on_bad_sample='skip'``."""
from collections import Counter
from typing import List, Optional

ON_BAD_SAMPLE_CHOICES = ('error', 'skip')


class BadSampleError(ValueError):
    """A sample (an image with its labels) that cannot be used.

    The message names the file, the line where there is one, and the
    offending value. Build it with :meth:`at`; the plain one-argument
    constructor stays valid so that the error survives pickling out of a
    dataloader worker.

    Attributes:
        path: the offending file, or None.
        line: 1-based line number in ``path``, or None.
        kind: a short category for the skip summary, e.g. ``'missing image'``.
    """

    def __init__(self,
                 message: str,
                 path: Optional[str] = None,
                 line: Optional[int] = None,
                 kind: str = 'bad sample') -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.kind = kind

    @classmethod
    def at(cls,
           path: str,
           reason: str,
           kind: str,
           line: Optional[int] = None) -> 'BadSampleError':
        """The error for ``reason`` found in ``path`` (at ``line``)."""
        where = str(path) if line is None else f'{path}:{line}'
        return cls(f'{where}: {reason}', path=str(path), line=line, kind=kind)


def check_on_bad_sample(value: str) -> str:
    """Validate the ``on_bad_sample`` option; return it."""
    if value not in ON_BAD_SAMPLE_CHOICES:
        raise ValueError(f'on_bad_sample must be one of '
                         f'{ON_BAD_SAMPLE_CHOICES}, got {value!r}')
    return value


def summarize_skips(owner: str, skipped: List[BadSampleError],
                    total: int) -> str:
    """One line counting skipped samples by kind, e.g.
    ``'KittiDataset: skipped 2 of 10 samples: 1 missing image, 1 bad
    label line'``."""
    counts = Counter(err.kind for err in skipped)
    kinds = ', '.join(f'{n} {kind}' for kind, n in sorted(counts.items()))
    return f'{owner}: skipped {len(skipped)} of {total} samples: {kinds}'
