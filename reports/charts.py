"""Small server-rendered SVG charts: a rating strip over months and indicator trend lines.

Plain SVG strings (no JavaScript, no external library) so pages, the bulletin's HTML and
tests all see the same picture.
"""
from __future__ import annotations

from decimal import Decimal
from html import escape

COLOURS = {"red": "#d64545", "yellow": "#e6a700", "green": "#2f9e44", "missing": "#cbd2d9", "n/a": "#9aa5b1"}
LABELS = {"red": "红色", "yellow": "黄色", "green": "绿色", "missing": "未上报", "n/a": "无法计算"}


def rating_strip(periods: list[str], rows: list[tuple[str, dict]], cell: int = 22) -> str:
    """One row of coloured squares per (label, {period: colour}); months left to right."""
    left, top = 70, 18
    width = left + cell * len(periods) + 4
    height = top + cell * len(rows) + 4
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="strip" width="{width}" height="{height}" '
           f'role="img" aria-label="评级走势">']
    for i, p in enumerate(periods):
        if p.endswith("-01") or i == 0:
            out.append(f'<text x="{left + i * cell}" y="12" font-size="10" fill="#52606d">{escape(p)}</text>')
    for r, (label, colours) in enumerate(rows):
        y = top + r * cell
        out.append(f'<text x="0" y="{y + cell * 0.7:.0f}" font-size="12" fill="#1f2933">{escape(label)}</text>')
        for i, p in enumerate(periods):
            colour = colours.get(p, "missing")
            out.append(f'<rect x="{left + i * cell}" y="{y}" width="{cell - 2}" height="{cell - 2}" rx="3" '
                       f'fill="{COLOURS.get(colour, "#cbd2d9")}" data-period="{p}" data-colour="{colour}">'
                       f'<title>{escape(p)} {escape(label)}：{LABELS.get(colour, colour)}</title></rect>')
    out.append("</svg>")
    return "".join(out)


def trend_line(title: str, periods: list[str], values: dict, fmt, thresholds: dict | None = None,
               width: int = 320, height: int = 120) -> str:
    """A line over the months with yellow/red threshold lines; `fmt` formats a value."""
    points = [(i, Decimal(values[p])) for i, p in enumerate(periods) if values.get(p) is not None]
    lines = [Decimal(v[1]) for v in (thresholds or {}).values() if v]
    pad_l, pad_r, pad_t, pad_b = 8, 8, 22, 16
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="trend" width="{width}" height="{height}" '
           f'role="img" aria-label="{escape(title)}">',
           f'<text x="{pad_l}" y="14" font-size="12" fill="#1f2933">{escape(title)}</text>']
    if not points:
        out.append(f'<text x="{pad_l}" y="{height / 2:.0f}" font-size="11" fill="#7b8794">无数据</text></svg>')
        return "".join(out)
    ys = [v for _, v in points] + lines
    lo, hi = min(ys), max(ys)
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    n = max(len(periods) - 1, 1)

    def x(i):
        return pad_l + (width - pad_l - pad_r) * i / n

    def y(v):
        return pad_t + (height - pad_t - pad_b) * float((hi - v) / (hi - lo))

    for colour, spec in (thresholds or {}).items():
        if spec:
            ty = y(Decimal(spec[1]))
            out.append(f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{ty:.1f}" y2="{ty:.1f}" '
                       f'stroke="{COLOURS[colour]}" stroke-dasharray="4 3" stroke-width="1"/>')
    path = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in points)
    out.append(f'<polyline points="{path}" fill="none" stroke="#0b4f6c" stroke-width="2"/>')
    last_i, last_v = points[-1]
    out.append(f'<circle cx="{x(last_i):.1f}" cy="{y(last_v):.1f}" r="3" fill="#0b4f6c"/>')
    out.append(f'<text x="{width - pad_r}" y="14" font-size="11" text-anchor="end" fill="#0b4f6c">'
               f'{escape(fmt(last_v))}</text>')
    out.append(f'<text x="{pad_l}" y="{height - 3}" font-size="10" fill="#7b8794">{escape(periods[0])}</text>')
    out.append(f'<text x="{width - pad_r}" y="{height - 3}" font-size="10" text-anchor="end" fill="#7b8794">'
               f'{escape(periods[-1])}</text></svg>')
    return "".join(out)
