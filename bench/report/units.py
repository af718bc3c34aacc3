"""Numbers as people read them on a plot's axis or in a summary: 950,
88.4K, 1.2M; 850 us, 1.2 ms, 2.5 s. And tick positions at round values."""
import math

MICRO = "\u00b5"


def _trim(value):
    """Three significant digits at most, no trailing zeros: 1.25, 12.5, 125."""
    if value == 0:
        return "0"
    digits = max(0, 2 - int(math.floor(math.log10(abs(value)))))
    text = f"{value:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def count(value):
    """A count or a rate: 950, 88.4K, 1.2M, 3G."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= scale:
            return _trim(value / scale) + suffix
    return _trim(value)


def micros(value):
    """A duration given in microseconds: 0.8 us, 850 us, 1.2 ms, 2.5 s."""
    if abs(value) >= 1e6:
        return _trim(value / 1e6) + " s"
    if abs(value) >= 1e3:
        return _trim(value / 1e3) + " ms"
    return _trim(value) + " " + MICRO + "s"


def seconds(value):
    return _trim(value) + " s"


def fraction(value):
    return _trim(value)


def size(value):
    """Bytes: 64 B, 1 KiB, 64 KiB, 1 MiB."""
    for scale, suffix in ((1 << 20, "MiB"), (1 << 10, "KiB")):
        if abs(value) >= scale:
            return _trim(value / scale) + " " + suffix
    return _trim(value) + " B"


def times(value):
    """A ratio: 1x, 2.5x."""
    return _trim(value) + "x"


def linear_ticks(lo, hi, want=5):
    """Round tick values (1, 2, 2.5 or 5 times a power of ten apart) covering
    [lo, hi]."""
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / max(1, want - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    value = first
    while value <= hi + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


def log_ticks(lo, hi):
    """Powers of ten within [lo, hi] (lo > 0), with 2 and 5 times them
    when the range spans three decades or fewer."""
    if lo <= 0 or hi <= lo:
        return [lo]
    first = math.floor(math.log10(lo))
    last = math.ceil(math.log10(hi))
    multiples = (1, 2, 5) if last - first <= 3 else (1,)
    ticks = [m * 10 ** e for e in range(first, last + 1) for m in multiples]
    inside = [t for t in ticks if lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9)]
    return inside or [lo, hi]
