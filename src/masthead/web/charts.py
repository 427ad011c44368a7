"""Small SVG charts drawn on the server: no chart library, no JavaScript, readable without CSS.

Each function returns markup safe to put in a template; every label is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

STATUS_COLORS = {
    "drafted": "#9aa5b1", "in_review": "#e0a100", "approved": "#3d7dd8",
    "published": "#2f9e44", "rejected": "#d9480f",
}


def _nice_max(value: float) -> float:
    """A round axis top at or above `value` (1, 2, 5 x 10^n)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)


def stacked_bars(series: Sequence[tuple[str, dict[str, int]]], order: Sequence[str], *,
                 title: str, width: int = 640, height: int = 220) -> Markup:
    """One bar per label (a day), stacked by key (a status), with a legend."""
    left, right, top, bottom = 36, 8, 10, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = _nice_max(max((sum(v.values()) for _, v in series), default=0))
    slot = plot_w / max(1, len(series))
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}"'
             f' xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for fraction in (0, 0.5, 1):
        y = top + plot_h * (1 - fraction)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" class="axis">{top_value * fraction:g}</text>')
    for index, (label, values) in enumerate(series):
        x = left + index * slot + slot * 0.15
        y = top + plot_h
        for key in order:
            count = values.get(key, 0)
            if not count:
                continue
            h = plot_h * count / top_value
            y -= h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}"'
                         f' fill="{STATUS_COLORS.get(key, "#868e96")}"><title>{escape(label)}: {count} {escape(key)}'
                         f'</title></rect>')
        if len(series) <= 16 or index % 2 == 0:
            parts.append(f'<text x="{x + slot * 0.35:.1f}" y="{top + plot_h + 14}" text-anchor="middle"'
                         f' class="axis">{escape(label[5:] if len(label) == 10 else label)}</text>')
    legend_x = left
    for key in order:
        parts.append(f'<rect x="{legend_x}" y="{height - 16}" width="10" height="10" fill="{STATUS_COLORS.get(key, "#868e96")}"/>'
                     f'<text x="{legend_x + 14}" y="{height - 7}" class="legend">{escape(key.replace("_", " "))}</text>')
        legend_x += 24 + 7 * len(key)
    parts.append("</svg>")
    return Markup("".join(parts))


def bars(items: Sequence[tuple[str, float]], *, title: str, width: int = 320, height: int = 180,
         color: str = "#3d7dd8") -> Markup:
    """Plain vertical bars with the value above each."""
    left, top, bottom = 8, 16, 24
    plot_h = height - top - bottom
    top_value = _nice_max(max((v for _, v in items), default=0))
    slot = (width - 2 * left) / max(1, len(items))
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}"'
             f' xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
             f'<line x1="{left}" x2="{width - left}" y1="{top + plot_h}" y2="{top + plot_h}" class="grid"/>']
    for index, (label, value) in enumerate(items):
        h = plot_h * value / top_value
        x = left + index * slot + slot * 0.15
        y = top + plot_h - h
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" fill="{color}"/>'
                     f'<text x="{x + slot * 0.35:.1f}" y="{y - 3:.1f}" text-anchor="middle" class="value">{value:g}</text>'
                     f'<text x="{x + slot * 0.35:.1f}" y="{height - 8}" text-anchor="middle" class="axis">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def meter(share: float | None, *, title: str, width: int = 240, height: int = 14) -> Markup:
    """A horizontal gauge: green below 80%, amber to 100%, red past it; empty when unlimited."""
    if share is None:
        return Markup(f'<svg class="meter" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}: no limit"'
                      f' xmlns="http://www.w3.org/2000/svg"><rect width="{width}" height="{height}" class="track"/></svg>')
    color = "#2f9e44" if share < 0.8 else "#e0a100" if share <= 1 else "#d9480f"
    filled = width * min(1.0, share)
    return Markup(f'<svg class="meter" viewBox="0 0 {width} {height}" role="img"'
                  f' aria-label="{escape(title)}: {share * 100:.0f}%" xmlns="http://www.w3.org/2000/svg">'
                  f'<rect width="{width}" height="{height}" class="track"/>'
                  f'<rect width="{filled:.1f}" height="{height}" fill="{color}"/></svg>')


def ab_intervals(variants: Sequence[dict], *, title: str, width: int = 640) -> Markup:
    """One row per A/B variant: its 95% interval as a bar on a shared rate axis, its posterior
    mean as a dot, and its probability of being best as a number and a gauge on the right."""
    row, left, right, top = 34, 150, 150, 24
    height = top + row * len(variants) + 24
    plot_w = width - left - right
    top_rate = max((float(v["interval_95"][1]) for v in variants), default=0.0)
    axis_max = max(0.01, min(1.0, _nice_max(top_rate * 100) / 100)) if top_rate else 0.01
    x_of = lambda rate: left + plot_w * min(1.0, float(rate) / axis_max)  # noqa: E731
    parts = [f'<svg class="chart ab" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}"'
             f' xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for fraction in (0, 0.25, 0.5, 0.75, 1):
        x = left + plot_w * fraction
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top - 6}" y2="{height - 20}" class="grid"/>'
                     f'<text x="{x:.1f}" y="{height - 6}" text-anchor="middle" class="axis">'
                     f'{axis_max * fraction * 100:.3g}%</text>')
    parts.append(f'<text x="{width - right + 10}" y="{top - 10}" class="axis">P(best)</text>')
    for index, variant in enumerate(variants):
        y = top + row * index + row / 2
        low, high = variant["interval_95"]
        label = f"{variant['variant']}: {variant['text']}"
        label = label if len(label) <= 22 else label[:21] + "…"
        p_best = float(variant["p_best"])
        parts.append(
            f'<g class="variant"><title>{escape(variant["variant"])} "{escape(variant["text"])}": mean '
            f'{float(variant["posterior_mean"]) * 100:.2f}%, 95% interval {float(low) * 100:.2f}%–{float(high) * 100:.2f}%,'
            f' P(best) {p_best:.3f}</title>'
            f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end" class="legend">{escape(label)}</text>'
            f'<rect x="{x_of(low):.1f}" y="{y - 5:.1f}" width="{max(1.0, x_of(high) - x_of(low)):.1f}" height="10"'
            f' fill="#a5c3ef"/>'
            f'<circle cx="{x_of(variant["posterior_mean"]):.1f}" cy="{y:.1f}" r="5" fill="#3d7dd8"/>'
            f'<rect x="{width - right + 10}" y="{y - 5:.1f}" width="{(right - 60) * p_best:.1f}" height="10"'
            f' fill="{"#2f9e44" if p_best >= 0.95 else "#9aa5b1"}"/>'
            f'<text x="{width - 8}" y="{y + 4:.1f}" text-anchor="end" class="value">{p_best:.3f}</text></g>')
    parts.append("</svg>")
    return Markup("".join(parts))
