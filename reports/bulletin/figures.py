"""The bulletin's pictures as PNG: the province map and the colour trends (matplotlib).

Drawn with the Noto Sans CJK font the install brings (package noto-cjk-sans-otc), so the
pictures look the same on any machine; no system font is assumed.
"""
from __future__ import annotations

import io
import threading

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from reports.fonts import CJK_FAMILY, FONT_PATH  # noqa: E402

COLOURS = {"red": "#d7301f", "yellow": "#f0b429", "green": "#2e9e52", "missing": "#c8c8c8", "n/a": "#8c8c8c"}
LABELS = {"red": "红色", "yellow": "黄色", "green": "绿色", "missing": "未上报", "n/a": "无法计算"}
DPI = 150
_lock = threading.Lock()   # pyplot keeps global state: one figure at a time
_font_ready = False


def _setup() -> None:
    global _font_ready
    if not _font_ready:
        font_manager.fontManager.addfont(str(FONT_PATH))
        _font_ready = True
    plt.rcParams.update({"font.family": CJK_FAMILY, "axes.unicode_minus": False, "font.size": 9,
                         "axes.spines.top": False, "axes.spines.right": False})


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def draw(conn, content: dict) -> dict[str, bytes]:
    """Every figure of the bulletin, by file name."""
    with _lock:
        _setup()
        out = {"map.png": province_map(conn, content),
               "trend-overall.png": trend(content["trend"]["overall"], content["trend"]["periods"],
                                          f"{content.get('area', '全省')}红色、黄色医院数（家）"),
               "prefectures.png": prefectures(content["by_prefecture"], content.get("group_label", "市（州）"))}
        for d in content["domains"]:
            out[f"trend-{d['key']}.png"] = trend(content["trend"][d["key"]], content["trend"]["periods"],
                                                 f"{d['name']}：红色、黄色医院数（家）")
        return out


def trend(series: dict[str, list[int]], periods: list[str], title: str) -> bytes:
    """Red and yellow hospitals month by month, stacked, each bar labelled with its counts
    (green is the rest of the province and would only flatten the picture)."""
    fig, ax = plt.subplots(figsize=(6.3, 2.3))
    labels = [p[2:].replace("-", ".") for p in periods]
    red, yellow = series.get("red", [0] * len(periods)), series.get("yellow", [0] * len(periods))
    ax.bar(labels, red, color=COLOURS["red"], label=LABELS["red"], width=0.65)
    ax.bar(labels, yellow, bottom=red, color=COLOURS["yellow"], label=LABELS["yellow"], width=0.65)
    top = max([r + y for r, y in zip(red, yellow)] + [1])
    for i, (r, y) in enumerate(zip(red, yellow)):
        ax.text(i, r + y + top * 0.03, f"{r}/{y}", ha="center", va="bottom", fontsize=6.5, color="#444444")
    ax.set_ylim(0, top * 1.25)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title(title, loc="left", fontsize=10)
    ax.legend(ncol=2, fontsize=8, frameon=False, loc="upper left")
    ax.tick_params(axis="x", labelsize=7)
    return _png(fig)


def prefectures(groups: list[dict], label: str = "市（州）") -> bytes:
    groups = list(reversed(groups))
    fig, ax = plt.subplots(figsize=(6.3, max(2.0, 0.24 * len(groups) + 0.8)))
    left = [0.0] * len(groups)
    names = [g["name"] for g in groups]
    for colour in ("red", "yellow", "green", "missing"):
        shares = [g[colour] / g["total"] * 100 if g["total"] else 0 for g in groups]
        ax.barh(names, shares, left=left, color=COLOURS[colour], label=LABELS[colour], height=0.7)
        left = [a + b for a, b in zip(left, shares)]
    ax.set_xlim(0, 100)
    ax.set_xlabel("占本地区医院比例（%）")
    ax.set_title(f"各{label}评级构成", loc="left", fontsize=10)
    ax.legend(ncol=4, fontsize=8, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.12 - 2 / max(len(groups), 8)))
    ax.tick_params(axis="y", labelsize=8)
    return _png(fig)


def province_map(conn, content: dict) -> bytes:
    """Prefectures shaded by their share of red and yellow hospitals; each hospital a dot
    in its colour. Drawn from the boundaries in force (the official file once loaded).

    A prefecture's bulletin (content["region_code"]) draws that prefecture alone: its
    counties shaded where the boundaries have counties, else the prefecture as one area."""
    from etl.reference.geography import active_boundaries
    boundaries = active_boundaries(conn)
    region = content.get("region_code")
    by_name = {g["name"]: g for g in content["by_prefecture"] if g["total"]}
    if region:
        mine = boundaries.frame[boundaries.frame["code"].str[:4] == region[:4]]
        frame = mine[mine["level"] == 3].copy()
        if frame.empty:
            frame = mine[mine["level"] == 2].copy()
            by_name = {n: content["counts"] for n in frame["name"]}
    if not region or frame.empty:     # a prefecture the boundaries lack: the province, as before
        frame = boundaries.level(2).copy()
    # Float with NaN for a prefecture without hospitals: a column of only None would be
    # plotted as categories, whose legend takes no colour-bar keywords.
    frame["share"] = pd.Series([(by_name[n]["red"] + by_name[n]["yellow"]) / by_name[n]["total"] * 100
                                if n in by_name else float("nan") for n in frame["name"]],
                               index=frame.index, dtype=float)
    shaded = bool(frame["share"].notna().any())
    hospitals = conn.execute(
        """SELECT h.code, h.longitude, h.latitude, coalesce(r.rating, 'missing') AS rating
           FROM hospital h LEFT JOIN rating r ON r.hospital_code = h.code AND r.period = %(period)s
           WHERE h.longitude IS NOT NULL AND h.latitude IS NOT NULL
             AND (%(region)s::text IS NULL OR prefecture_of(h.region_code) = %(region)s)
             AND hospital_expected(h.opened_from, h.closed_from, %(period)s)""",
        {"period": content["period"], "region": region}).fetchall()
    fig, ax = plt.subplots(figsize=(6.3, 5.6))
    frame.plot(ax=ax, column="share", cmap="OrRd", vmin=0, vmax=100, edgecolor="white", linewidth=0.6,
               missing_kwds={"color": "#eeeeee", "edgecolor": "white"}, legend=shaded,
               legend_kwds={"label": "红黄色医院占比（%）", "shrink": 0.6} if shaded else None)
    for colour in ("green", "missing", "yellow", "red"):   # the worst drawn last, on top
        pts = [(float(h["longitude"]), float(h["latitude"])) for h in hospitals if h["rating"] == colour]
        if pts:
            xs, ys = zip(*pts)
            ax.scatter(xs, ys, s=9 if colour in ("red", "yellow") else 5, c=COLOURS[colour], edgecolors="#333333",
                       linewidths=0.3, zorder=3)
    for _, row in frame.iterrows():
        point = row.geometry.representative_point()
        ax.annotate(row["name"], (point.x, point.y), ha="center", fontsize=6, color="#333333", zorder=4)
    ax.set_axis_off()
    ax.set_title(f"{content['period_label']}医院评级分布", fontsize=10)
    handles = [Patch(color=COLOURS[c], label=f"{LABELS[c]}医院") for c in ("red", "yellow", "green", "missing")]
    if frame["share"].isna().any():
        handles.append(Patch(facecolor="#eeeeee", edgecolor="#bbbbbb", label="无登记医院"))
    ax.legend(handles=handles, loc="lower left", fontsize=7, frameon=False)
    if boundaries.source == "packaged":
        ax.text(0.99, 0.01, "示意图：边界为内置示意数据，非标准地图", transform=ax.transAxes, ha="right", fontsize=6,
                color="#777777")
    return _png(fig)
