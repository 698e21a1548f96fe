"""The web pages' charts as Plotly figures in plain JSON dicts (`data`, `layout`), built from
the store's figures and the lake's timeline; the page draws them with `Plotly.newPlot`."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from tapewatch.detect.decision import risk_level
from tapewatch.detect.explain import FeatureReason
from tapewatch.schema.enums import ManipulationType
from tapewatch.store.cases import HOUR_US

Figure = dict[str, Any]

#: one colour per typology, the same on every chart
TYPOLOGY_COLOURS: dict[str, str] = {
    ManipulationType.SPOOFING: "#6366f1",
    ManipulationType.LAYERING: "#0ea5e9",
    ManipulationType.WASH_TRADING: "#14b8a6",
    ManipulationType.PUMP_AND_DUMP: "#f59e0b",
    ManipulationType.QUOTE_STUFFING: "#ec4899",
    ManipulationType.MARKING_THE_CLOSE: "#8b5cf6",
    ManipulationType.NONE: "#94a3b8",
}
#: severities from least to most urgent (risk levels, or score bands without a model)
SEVERITY_COLOURS: dict[str, str] = {
    "LOW": "#94a3b8",
    "MEDIUM": "#facc15",
    "HIGH": "#f97316",
    "CRITICAL": "#dc2626",
}
SIDE_COLOURS = {"BUY": "#2563eb", "SELL": "#ea580c"}
#: the trader's order events on the timeline: status -> (what the legend says, marker symbol)
ORDER_MARKERS: dict[str, tuple[str, str]] = {
    "NEW": ("placed", "circle"),
    "MODIFIED": ("modified", "square"),
    "CANCELLED": ("cancelled", "x"),
    "EXECUTED": ("filled", "diamond"),
    "FILLED": ("filled", "diamond"),
    "PARTIALLY_FILLED": ("filled", "diamond"),
}
FILLED = ("EXECUTED", "FILLED", "PARTIALLY_FILLED")
DETECTOR_COLOURS = {"xgboost": "#6366f1", "autoencoder": "#14b8a6"}
DETECTOR_AXES = {
    "xgboost": "known-pattern model (SHAP, log-odds)",
    "autoencoder": "autoencoder (share of reconstruction error)",
}


def plot_time(us: int) -> str:
    """µs since the epoch as the UTC date string Plotly reads."""
    when = dt.datetime.fromtimestamp(us / 1e6, dt.UTC)
    return when.strftime("%Y-%m-%d %H:%M:%S.%f")


def _layout(**extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "margin": {"l": 48, "r": 16, "t": 12, "b": 40},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"family": "system-ui, sans-serif", "size": 12, "color": "#1e293b"},
        "hoverlabel": {"font": {"size": 12}},
        "legend": {"orientation": "h", "y": -0.18},
    }
    layout.update(extra)
    return layout


def _ordered(groups: Iterable[str], order: Sequence[str]) -> list[str]:
    present = set(groups)
    return [g for g in order if g in present] + sorted(present - set(order))


def hourly_stacked(
    counts: Sequence[tuple[int, str, int]], colours: Mapping[str, str], what: str = "alerts"
) -> Figure:
    """Counts per hour (µs of the hour's start) and group as stacked bars, one trace per
    group in the colours' order."""
    table = {(hour, group): n for hour, group, n in counts}
    hours = sorted({hour for hour, _, _ in counts})
    starts = [plot_time(h) for h in hours]
    hour_ms = HOUR_US // 1000
    data = [
        {
            "type": "bar",
            "name": label(group),
            "x": starts,
            "y": [table.get((h, group), 0) for h in hours],
            "width": [hour_ms * 0.9] * len(hours),
            "offset": hour_ms * 0.05,
            "customdata": [s[:16] for s in starts],
            "marker": {"color": colours.get(group, "#64748b")},
            "hovertemplate": (
                f"%{{customdata}} UTC + 1 h<br>{label(group)}: %{{y}} {what}<extra></extra>"
            ),
        }
        for group in _ordered((g for _, g, _ in counts), list(colours))
    ]
    layout = _layout(
        barmode="stack",
        xaxis={"type": "date", "ticklabelmode": "period" if len(hours) > 24 else "instant"},
        yaxis={"title": {"text": what}, "rangemode": "tozero"},
        legend={"orientation": "h", "y": -0.15, "traceorder": "normal"},
    )
    return {"data": data, "layout": layout}


def label(name: str) -> str:
    """An enum value (a typology, a risk level) as a legend shows it."""
    return name.replace("_", " ").lower()


def instrument_risk(
    instruments: Sequence[Mapping[str, Any]], threshold: float | None = None
) -> Figure:
    """Instruments ranked by risk (their alerts' summed score) as horizontal bars, the
    riskiest on top, coloured by the risk level of their top score (given the threshold);
    a click on a bar opens the instrument's alerts."""
    names = [str(i["instrument_id"]) for i in instruments]
    colours = [
        "#6366f1"
        if threshold is None
        else SEVERITY_COLOURS[risk_level(float(i["max_score"]), threshold).value]
        for i in instruments
    ]
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "name": "risk",
            "x": [round(float(i["risk"]), 3) for i in instruments],
            "y": names,
            "text": [f"{i['alerts']} alerts" for i in instruments],
            "textposition": "auto",
            "customdata": [f"/alerts?instrument_id={n}" for n in names],
            "marker": {"color": colours},
            "hovertemplate": "%{y}<br>risk %{x:.2f} (%{text})<extra></extra>",
        }
    ]
    layout = _layout(
        margin={"l": 120, "r": 16, "t": 12, "b": 40},
        xaxis={"title": {"text": "summed alert score"}, "rangemode": "tozero"},
        yaxis={"autorange": "reversed", "type": "category"},
        showlegend=False,
    )
    return {"data": data, "layout": layout}


def order_book(timeline: pa.Table, trader_id: str, start_us: int, end_us: int) -> Figure | None:
    """The instrument around an alert: trade prices, best bid and best ask over time, and
    the alert's trader's orders placed, cancelled and filled (colour: side; size:
    quantity); the alert's span is shaded. None without timeline rows."""
    if timeline.num_rows == 0:
        return None
    times = pc.strftime(timeline.column("timestamp"), format="%Y-%m-%d %H:%M:%S").to_pylist()
    status = timeline.column("order_status").to_pylist()
    traders = timeline.column("trader_id").to_pylist()
    price = timeline.column("price").to_pylist()
    data: list[dict[str, Any]] = []
    quotes = (("best bid", "bid_price", "#16a34a"), ("best ask", "ask_price", "#dc2626"))
    for name, column, colour in quotes:
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": name,
                "x": times,
                "y": timeline.column(column).to_pylist(),
                "line": {"shape": "hv", "width": 1.5, "color": colour},
                "hovertemplate": f"{name} %{{y}}<extra></extra>",
            }
        )
    trades = [i for i, s in enumerate(status) if s in FILLED]
    data.append(
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "trade price",
            "x": [times[i] for i in trades],
            "y": [price[i] for i in trades],
            "line": {"width": 1, "color": "#334155"},
            "marker": {"size": 4, "color": "#334155"},
            "hovertemplate": "trade at %{y}<extra></extra>",
        }
    )
    data.extend(_trader_orders(timeline, times, traders, trader_id))
    pad_us = max((end_us - start_us) // 2, 500_000)
    span = {
        "type": "rect",
        "xref": "x",
        "yref": "paper",
        "x0": plot_time(start_us - pad_us if end_us - start_us < 1_000_000 else start_us),
        "x1": plot_time(end_us + pad_us if end_us - start_us < 1_000_000 else end_us),
        "y0": 0,
        "y1": 1,
        "fillcolor": "rgba(220,38,38,0.10)",
        "line": {"width": 0},
        "layer": "below",
    }
    layout = _layout(
        xaxis={"type": "date", "title": {"text": "time (UTC)"}},
        yaxis={"title": {"text": "price"}},
        shapes=[span],
        annotations=[
            {
                "x": span["x0"],
                "y": 1,
                "xref": "x",
                "yref": "paper",
                "text": "alert",
                "showarrow": False,
                "xanchor": "left",
                "yanchor": "top",
                "font": {"color": "#b91c1c", "size": 11},
            }
        ],
        hovermode="closest",
        legend={"orientation": "h", "y": -0.2, "itemsizing": "constant"},
    )
    return {"data": data, "layout": layout}


def _trader_orders(
    timeline: pa.Table, times: list[str], traders: list[str], trader_id: str
) -> list[dict[str, Any]]:
    """One marker trace per kind of order event and side, of the trader's events."""
    rows = [i for i, t in enumerate(traders) if t == trader_id]
    if not rows:
        return []
    cols = {
        name: timeline.column(name).to_pylist()
        for name in ("order_status", "side", "price", "quantity", "order_id", "score")
    }
    biggest = max((cols["quantity"][i] or 0.0) for i in rows) or 1.0
    groups: dict[tuple[str, str], list[int]] = {}
    for i in rows:
        kind = ORDER_MARKERS.get(cols["order_status"][i])
        if kind is not None:
            groups.setdefault((kind[0], str(cols["side"][i])), []).append(i)
    traces = []
    for verb, symbol in dict(ORDER_MARKERS.values()).items():
        for side, colour in SIDE_COLOURS.items():
            picked = groups.get((verb, side), [])
            if not picked:
                continue
            sizes = [8 + 18 * math.sqrt((cols["quantity"][i] or 0.0) / biggest) for i in picked]
            traces.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "name": f"{verb} {side.lower()}",
                    "x": [times[i] for i in picked],
                    "y": [cols["price"][i] for i in picked],
                    "customdata": [
                        [cols["order_id"][i], cols["quantity"][i], round(cols["score"][i], 3)]
                        for i in picked
                    ],
                    "marker": {
                        "symbol": symbol,
                        "size": [round(s, 1) for s in sizes],
                        "color": colour,
                        "line": {"width": 2 if symbol == "x" else 1, "color": colour},
                        "opacity": 0.85,
                    },
                    "hovertemplate": (
                        f"{verb} {side.lower()} %{{customdata[1]:,}} at %{{y}}<br>"
                        "order %{customdata[0]}, score %{customdata[2]}<extra></extra>"
                    ),
                }
            )
    return traces


def contributions(top_features: Sequence[Mapping[str, Any]]) -> Figure | None:
    """The alert's top features as horizontal bars of their contribution, one panel per
    detector (their units differ), stacked; None without features."""
    detectors = [d for d in DETECTOR_AXES if any(f.get("detector") == d for f in top_features)]
    if not detectors:
        return None
    panels = [[f for f in top_features if f.get("detector") == d] for d in detectors]
    gap = 0.16 if len(panels) > 1 else 0.0
    height = (1.0 - gap * (len(panels) - 1)) / sum(len(p) for p in panels)
    data: list[dict[str, Any]] = []
    layout = _layout(margin={"l": 16, "r": 16, "t": 24, "b": 24}, showlegend=False, bargap=0.3)
    annotations = []
    top = 1.0
    for n, (detector, mine) in enumerate(zip(detectors, panels, strict=True)):
        suffix = "" if n == 0 else str(n + 1)
        domain = [max(top - height * len(mine), 0.0), top]
        top = domain[0] - gap
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": detector,
                "x": [float(f["contribution"]) for f in mine],
                "y": [str(f["feature"]) for f in mine],
                "xaxis": "x" + suffix,
                "yaxis": "y" + suffix,
                "text": [_phrase(f) for f in mine],
                "textposition": "none",
                "marker": {"color": DETECTOR_COLOURS[detector]},
                "hovertemplate": "%{y}: %{x:.3f}<br>%{text}<extra></extra>",
            }
        )
        layout["xaxis" + suffix] = {"anchor": "y" + suffix, "rangemode": "tozero"}
        layout["yaxis" + suffix] = {
            "anchor": "x" + suffix,
            "domain": domain,
            "autorange": "reversed",
            "type": "category",
            "automargin": True,
        }
        annotations.append(
            {
                "text": DETECTOR_AXES[detector],
                "x": 0,
                "y": domain[1],
                "xref": "paper",
                "yref": "paper",
                "xanchor": "left",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 12, "color": "#475569"},
            }
        )
    layout["annotations"] = annotations
    return {"data": data, "layout": layout}


def _phrase(feature: Mapping[str, Any]) -> str:
    value, usual = feature.get("value"), feature.get("usual")
    return FeatureReason(
        str(feature["feature"]),
        None if value is None else float(value),
        float(feature.get("contribution", 0.0)),
        None if usual is None else float(usual),
    ).phrase()
