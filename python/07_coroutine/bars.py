"""07_coroutine/bars.py: a block of bars as switch_cost.c and create_cost.c write them
(index, median, p10, p90, label, colour group), from the samples of each row; a row
CPython has no counterpart of (no samples) is NaN, its bar left out of the figure."""
import wb


def write(d, block, columns, rows, ns, what):
    """rows: (index, label, group) in the C file's order; ns: {index: [samples, ns]}.
    Writes the block, prints a table headed `what`, returns {index: median}."""
    d.block(block, columns)
    print(f"  {what}, ns:")
    med = {}
    for idx, label, group in rows:
        if idx not in ns:
            d.row(idx, None, None, None, label or "-", group)
            continue
        s = wb.summary(ns[idx])
        med[idx] = s.median
        d.row(idx, s.median, s.p10, s.p90, label, group)
        print(f"  {label.replace(chr(92) + 'n', ' '):24} {s.median:12.1f} ({s.p10:.1f} .. {s.p90:.1f})")
    return med
