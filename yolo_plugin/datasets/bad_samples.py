"""Bad input of the raw data sets: the error a bad sample raises, the
record of the samples skipped with ``on_bad_sample='skip'``, and reading a
label or list file as text."""
from collections import Counter
from typing import List, Optional

ON_BAD_SAMPLE_CHOICES = ('error', 'skip')
#: Longest shown value in a message; longer ones are cut with '...'.
SHOWN_LENGTH = 80
BYTE_ORDER_MARK = '\ufeff'


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


def shown(value) -> str:
    """``repr(value)`` for a message, cut to ``SHOWN_LENGTH`` characters."""
    text = repr(value)
    if len(text) <= SHOWN_LENGTH:
        return text
    return text[:SHOWN_LENGTH - 3] + '...'


def _unify_newlines(data):
    """``\\r\\n`` and ``\\r`` line ends as ``\\n`` (bytes or str)."""
    crlf, cr, lf = ('\r\n', '\r', '\n') if isinstance(data, str) else (
        b'\r\n', b'\r', b'\n')
    return data.replace(crlf, lf).replace(cr, lf)


def read_text(path: str) -> str:
    """The text of a label or list file (UTF-8, a leading byte order mark
    allowed), its line ends made ``\\n``. Lines are what ``\\n``
    separates, as an editor numbers them (``str.splitlines`` would also
    break at form feeds and Unicode separators).

    Raises:
        BadSampleError: the file is not UTF-8, naming the line of the first
            bad byte.
    """
    with open(path, 'rb') as f:
        data = f.read()
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError as err:
        line = _unify_newlines(data[:err.start]).count(b'\n') + 1
        raise BadSampleError.at(
            path, f'not UTF-8 text: byte {data[err.start]:#04x} at offset '
            f'{err.start}', 'bad encoding', line) from err
    return _unify_newlines(text.removeprefix(BYTE_ORDER_MARK))
