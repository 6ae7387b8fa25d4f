"""How numbers are written, in charts and in the report alike (one rule per kind of number)."""
from __future__ import annotations

GiB = float(1 << 30)


def human_size(n: float) -> str:
    """64 -> '64 B', 4096 -> '4 KiB', 1572864 -> '1.5 MiB'."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:g} {unit}" if value == int(value) else f"{value:.3g} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _three_figures(v: float) -> str:
    """Three significant figures without scientific notation: 0.0150, 0.250, 8.00, 12.0, 150."""
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    digits = 2
    while a < 0.1 and digits < 9:
        a *= 10
        digits += 1
    return f"{v:.{digits}f}"


def gib_per_s(bytes_per_second: float) -> float:
    return bytes_per_second / GiB


def fmt_gibs(gib_s: float) -> str:
    return f"{_three_figures(gib_s)} GiB/s"


def fmt_ns(ns: float) -> str:
    """A time given in nanoseconds, in the unit that reads best: 90 ns, 37.6 µs, 1.64 ms."""
    if ns < 1e3:
        return f"{ns:.0f} ns"
    if ns < 1e6:
        return f"{_three_figures(ns / 1e3)} µs"
    if ns < 1e9:
        return f"{_three_figures(ns / 1e6)} ms"
    return f"{_three_figures(ns / 1e9)} s"


def fmt_ratio(r: float) -> str:
    """A ratio as a multiplier: 2.00×, 12.5×, 0.450×."""
    return f"{_three_figures(r)}×"


def fmt_percent(fraction: float) -> str:
    p = fraction * 100
    return f"{p:.0f}%" if p >= 10 else f"{p:.1f}%"


def fmt_number(v: float) -> str:
    """Any other quantity (CPU seconds per GiB, messages per second in millions...)."""
    return _three_figures(v)


def fmt_rate(per_second: float) -> str:
    """Messages (or round trips) per second: 28.1 M/s, 253 k/s."""
    if per_second >= 1e6:
        return f"{_three_figures(per_second / 1e6)} M/s"
    if per_second >= 1e3:
        return f"{_three_figures(per_second / 1e3)} k/s"
    return f"{_three_figures(per_second)}/s"


def size_list(sizes) -> str:
    """'64 B, 64 KiB and 1 MiB'."""
    names = [human_size(s) for s in sizes]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
