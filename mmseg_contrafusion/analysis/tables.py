"""Markdown tables and the number formats of their cells."""
from typing import Optional, Sequence


def markdown_table(header: Sequence[str],
                   rows: Sequence[Sequence[str]]) -> str:
    """A Markdown (GitHub) table.

    Args:
        header (Sequence[str]): Column names.
        rows (Sequence[Sequence]): Cells, one sequence per row.

    Returns:
        str: The table, one line per row, no trailing newline.
    """
    lines = [
        '| ' + ' | '.join(header) + ' |',
        '|' + '|'.join('---' for _ in header) + '|'
    ]
    lines += ['| ' + ' | '.join(str(c) for c in row) + ' |' for row in rows]
    return '\n'.join(lines)


def fmt_count(value: Optional[float],
              unit: float = 1e6,
              digits: int = 2,
              suffix: str = 'M') -> str:
    """A count in ``unit`` with a suffix, e.g. ``'3.72M'``; None: ``'n/a'``."""
    if value is None:
        return 'n/a'
    return f'{value / unit:.{digits}f}{suffix}'


def fmt_number(value: Optional[float],
               digits: int = 2,
               scale: float = 1.0) -> str:
    """``value * scale`` with ``digits`` decimals; None: ``'-'``."""
    return '-' if value is None else f'{value * scale:.{digits}f}'
