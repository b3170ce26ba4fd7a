"""A server-rendered SVG chart of an asset's valuation history (approved and superseded valuations over time), for
the asset's admin page. No JavaScript, no external library: a polyline on a value/date grid."""

from datetime import date
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from valuation.models import Valuation, ValuationStatus

WIDTH, HEIGHT, PAD = 640, 220, 48
SHOWN = (ValuationStatus.APPROVED, ValuationStatus.SUPERSEDED)


def valuation_points(*, asset_id: object, limit: int = 200) -> list[tuple[date, Decimal, str]]:
    """(as_of, value, currency) of the asset's approved and superseded valuations, oldest first (at most `limit`,
    the latest ones)."""
    rows = (
        Valuation.objects.filter(asset_id=asset_id, status__in=SHOWN)
        .order_by("-as_of", "-approved_at")
        .values_list("as_of", "value", "currency")[:limit]
    )
    return list(reversed(rows))


def valuation_history_svg(*, asset_id: object) -> SafeString:
    """The chart, or a one-line note when there is nothing to draw. Values in another currency than the latest
    valuation's are left out (and said so) rather than drawn on the wrong scale."""
    points = valuation_points(asset_id=asset_id)
    if not points:
        return format_html("<p>{}</p>", "No approved valuation yet.")
    currency = points[-1][2]
    drawn = [(day, value) for day, value, cur in points if cur == currency]
    left_out = len(points) - len(drawn)
    low, high = min(v for _, v in drawn), max(v for _, v in drawn)
    first, last = drawn[0][0], drawn[-1][0]
    span_days = max((last - first).days, 1)
    span_value = (high - low) or (abs(high) or Decimal(1))

    def xy(day: date, value: Decimal) -> tuple[float, float]:
        x = PAD + (WIDTH - 2 * PAD) * ((day - first).days / span_days if len(drawn) > 1 else 0.5)
        y = HEIGHT - PAD - float((value - low) / span_value) * (HEIGHT - 2 * PAD) if high != low else HEIGHT / 2
        return round(x, 1), round(y, 1)

    coords = [xy(day, value) for day, value in drawn]
    line = " ".join(f"{x},{y}" for x, y in coords)
    dots = format_html_join(
        "",
        '<circle cx="{}" cy="{}" r="3"><title>{}: {} {}</title></circle>',
        (
            (x, y, day.isoformat(), f"{value:,.2f}", currency)
            for (x, y), (day, value) in zip(coords, drawn, strict=True)
        ),
    )
    note = f" ({left_out} in other currencies not shown)" if left_out else ""
    svg = format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img" aria-label="{label}">'
        '<rect width="{w}" height="{h}" fill="#fff" stroke="#ccc"/>'
        '<polyline points="{line}" fill="none" stroke="#417690" stroke-width="2"/>'
        '<g fill="#417690">{dots}</g>'
        '<text x="{pad}" y="16" font-size="12">{high} {cur}</text>'
        '<text x="{pad}" y="{bottom}" font-size="12">{low} {cur}</text>'
        '<text x="{pad}" y="{h2}" font-size="11">{first}</text>'
        '<text x="{right}" y="{h2}" font-size="11" text-anchor="end">{last}</text>'
        "</svg>",
        w=WIDTH, h=HEIGHT, pad=PAD, line=line, dots=dots, cur=currency,
        label=f"Valuation history in {currency}", high=f"{high:,.2f}", low=f"{low:,.2f}",
        bottom=HEIGHT - PAD + 14, h2=HEIGHT - 6, first=first.isoformat(), last=last.isoformat(), right=WIDTH - PAD,
    )  # fmt: skip
    return mark_safe(svg + (format_html("<p>{}</p>", note) if note else ""))
