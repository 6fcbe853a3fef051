"""The red/yellow/green map of the province (issue 6), its region lists and boundary admin."""
from __future__ import annotations

import json
import math
import sys
import threading
from collections import Counter, OrderedDict
from pathlib import Path

import click
import folium
from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.cli import with_appcontext
from folium.template import Template
from markupsafe import escape
from psycopg import sql
from werkzeug.routing import BuildError

from app import month, tables
from app.auth import current_scope, login_required
from app.db import get_conn
from etl.common.errors import HemonError
from etl.ratings import overview
from etl.reference import geography
from etl.reference.scope import Scope, area_name

bp = Blueprint("maps", __name__, url_prefix="/map")

DOMAINS = {"overall": "总体评级", **overview.DOMAIN_NAMES}
MODES = {"worst": "最差评级", "share": "风险医院占比"}
SHOWS = {"all": "全部医院", "red": "仅红色", "red_yellow": "红色和黄色"}
COLOURS = {"red": "#d64545", "yellow": "#e6a700", "green": "#2f9e44", "missing": "#9aa5b1", "n/a": "#9aa5b1"}
NO_DATA = "#e4e7eb"
# Share of hospitals rated red or yellow: lower bound of each bin and its colour.
SHARE_BINS = ((0.0, "#fff1e6"), (0.1, "#fdd0a2"), (0.2, "#fd8d3c"), (0.35, "#e6550d"), (0.5, "#a63603"))
TEMPLATES = Path(__file__).resolve().parent / "templates" / "maps"
VENDOR = "vendor/leaflet-1.9.4/"


def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def _js(value) -> str:
    """JSON safe inside a <script> element (compact, Chinese kept as UTF-8)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                    ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


class DataLayer(folium.map.Layer):
    """A map layer drawn in the browser from one compact JSON payload."""

    def __init__(self, template: str, name: str, payload, show: bool = True, weight: float = 1):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "DataLayer"
        self._template = _template(template)
        self.payload = _js(payload)
        self.weight = weight


class Controls(folium.MacroElement):
    """The map's scale in metres and kilometres only, and attribution without Leaflet's prefix."""

    def __init__(self):
        super().__init__()
        self._name = "Controls"
        self._template = _template("controls.html")


class Legend(folium.MacroElement):
    """The map's legend, a Leaflet control with server-built HTML."""

    def __init__(self, html: str):
        super().__init__()
        self._name = "Legend"
        self._template = _template("legend.html")
        self.payload = _js(str(html))


# --- data for the map -------------------------------------------------------------------

def _colour(row: dict, domain: str) -> str:
    return row["rating"] if domain == "overall" else row[domain]


def _drivers(row: dict, domain: str) -> list[str]:
    """The two or three indicator sentences behind the colour shown."""
    domains = [domain] if domain != "overall" else [d for d in overview.DOMAIN_NAMES if row[d] == row["rating"]]
    texts = [t for d in domains for t in row["domain_drivers"][d] if t]
    return list(dict.fromkeys(texts))[:3]


def _radius(beds) -> float:
    return round(min(14.0, 3.0 + math.sqrt(beds or 0) / 4), 1)


def _shown(colour: str, show: str) -> bool:
    return show == "all" or colour == "red" or (show == "red_yellow" and colour == "yellow")


def _regions_of(conn) -> dict[str, tuple[str | None, str | None]]:
    """region code -> (prefecture code, county code)."""
    out = {}
    for r in conn.execute("SELECT code, parent_code, level FROM region"):
        out[r["code"]] = ((r["parent_code"], r["code"]) if r["level"] == 3 else
                          (r["code"], None) if r["level"] == 2 else (None, None))
    return out


def region_counts(rows: list[dict], conn, domain: str) -> dict[str, Counter]:
    """Colour counts per prefecture and county (by registered region) for one domain."""
    regions = _regions_of(conn)
    counts: dict[str, Counter] = {}
    for row in rows:
        pref, county = regions.get(row["region_code"], (row["region_code"][:4] + "00", None))
        colour = _colour(row, domain)
        for code in (pref, county):
            if code:
                counts.setdefault(code, Counter())[colour if colour in ("red", "yellow", "green") else "grey"] += 1
    return counts


def _fill(counts: Counter, mode: str) -> tuple[str, str]:
    """(fill colour, share text) of a region."""
    rated = counts["red"] + counts["yellow"] + counts["green"]
    if not rated:
        return NO_DATA, "—"
    share = (counts["red"] + counts["yellow"]) / rated
    if mode == "share":
        colour = [c for low, c in SHARE_BINS if share >= low][-1]
    else:
        colour = COLOURS["red" if counts["red"] else "yellow" if counts["yellow"] else "green"]
    return colour, f"{share:.0%}"


def _region_payload(features: list[dict], counts: dict[str, Counter], mode: str, period: str, domain: str) -> dict:
    out = []
    for f in features:
        c = counts.get(f["properties"]["code"], Counter())
        fill, share = _fill(c, mode)
        out.append({"type": "Feature", "geometry": f["geometry"],
                    "properties": {"code": f["properties"]["code"], "name": f["properties"]["name"],
                                   "counts": [c["red"], c["yellow"], c["green"], c["grey"]], "fill": fill,
                                   "share": share}})
    return {"features": out, "period": period, "domainName": DOMAINS[domain],
            "countNames": ["红色", "黄色", "绿色", "未上报/无法计算"],
            "regionUrl": url_for("maps.region", code="__CODE__", period=period, domain=domain)}


def _hospital_url(period: str) -> str | None:
    """Where a hospital's name links to, on the same month; none for leaders, who read the map
    and bulletins only."""
    if g.user["role"] in ("leader", "prefecture-leader"):
        return None
    try:
        return url_for("hospitals.detail", code="__CODE__", period=period)
    except BuildError:    # the hospital page is not registered in this build
        return f"/hospitals/__CODE__?period={period}"


def _legend(mode: str, domain: str, boundaries: geography.Boundaries) -> str:
    items = [f'<div class="legend-title">{escape(DOMAINS[domain])} · 区域按{escape(MODES[mode])}</div>']
    if mode == "share":
        bounds = [low for low, _ in SHARE_BINS] + [None]
        for (low, colour), high in zip(SHARE_BINS, bounds[1:]):
            label = f"{low:.0%}–{high:.0%}" if high is not None else f"≥{low:.0%}"
            items.append(f'<div><i style="background:{colour}"></i>{label}</div>')
    else:
        for c in ("red", "yellow", "green"):
            items.append(f'<div><i style="background:{COLOURS[c]}"></i>{overview.COLOUR_NAMES[c]}</div>')
    items.append(f'<div><i style="background:{NO_DATA}"></i>无评级医院</div>')
    items.append('<div class="legend-title">医院（圆点大小表示编制床位）</div>')
    for c in ("red", "yellow", "green", "missing"):
        items.append(f'<div><i class="dot" style="background:{COLOURS[c]}"></i>{overview.COLOUR_NAMES[c]}</div>')
    source = ("内置示意边界（Apache ECharts 4.9.0），非官方审定" if boundaries.source == "packaged"
              else f"官方边界：{escape(boundaries.file_name)}")
    items.append(f'<div class="legend-source">{source}</div>')
    return "".join(items)


# Built maps, most recently used last. A folium render of 1,500 markers costs ~0.5 s of CPU; the
# same map is asked for by every reviewer, so it is built once per state of its inputs.
_built: OrderedDict = OrderedDict()
_built_lock = threading.Lock()
MAP_CACHE_SIZE = 48

FINGERPRINT_SQL = """
SELECT (SELECT md5(coalesce(string_agg(concat_ws('|', r.hospital_code, r.rating, r.deficit, r.debt, r.wages,
                                                  r.provisional, r.computed_at), ',' ORDER BY r.hospital_code), ''))
        FROM rating r WHERE r.period = %(period)s) AS ratings,
       (SELECT md5(coalesce(string_agg(concat_ws('|', h.code, h.name, h.level, h.region_code, h.longitude,
                                                  h.latitude, h.beds, h.opened_from, h.closed_from),
                                        ',' ORDER BY h.code), ''))
        FROM hospital h) AS hospitals
"""


def cached_map(conn, period: str, domain: str, mode: str, show: str, scope: Scope) -> dict:
    """`build_map`, reused while nothing it shows has changed.

    The key holds everything the map is drawn from: the period's ratings (every row's colours and
    computed_at, so any rescoring or new return changes it), the registry (names, places, beds),
    the boundaries in force, the choices, the user's scope and whether names link to hospital
    pages. The fingerprint is one indexed query of a few milliseconds."""
    prints = conn.execute(FINGERPRINT_SQL, {"period": period}).fetchone()
    boundaries = geography.active_boundaries(conn)
    key = (period, domain, mode, show, scope, _hospital_url(period), boundaries.province, boundaries.version_id,
           str(boundaries.loaded_at), prints["ratings"], prints["hospitals"])
    with _built_lock:
        if key in _built:
            _built.move_to_end(key)
            return _built[key]
    built = build_map(conn, period, domain, mode, show, scope)
    with _built_lock:
        _built[key] = built
        while len(_built) > MAP_CACHE_SIZE:
            _built.popitem(last=False)
    return built


def build_map(conn, period: str, domain: str, mode: str, show: str, scope: Scope) -> dict:
    """The folium map's pieces (header, html, script) and the figures shown beside it, for the
    hospitals in `scope` (hospital users never reach the map: the role check refuses them)."""
    boundaries = geography.active_boundaries(conn)
    rows = overview.period_overview(conn, period, scope)
    where, extra = scope.clause("code")
    places = {r["code"]: r for r in conn.execute(sql.SQL(
        "SELECT code, longitude::float AS lon, latitude::float AS lat, beds FROM hospital WHERE {}").format(where),
        extra)}
    counts = region_counts(rows, conn, domain)
    # A prefecture's users see their prefecture and its counties, framed to fit it.
    frame = boundaries.frame if scope.is_province else boundaries.frame[boundaries.frame["code"].map(scope.covers)]
    west, south, east, north = (frame if len(frame) else boundaries.frame).total_bounds
    m = folium.Map(location=[(south + north) / 2, (west + east) / 2], tiles=None, zoom_start=6,
                   height="100%", zoom_snap=0.25)   # scale: Controls (folium's has miles)
    m.default_js = [("leaflet", url_for("static", filename=VENDOR + "leaflet.js"))]
    m.default_css = [("leaflet_css", url_for("static", filename=VENDOR + "leaflet.css"))]
    m.fit_bounds([[south, west], [north, east]])

    def features(level):
        return [f for f in boundaries.web_features(level) if scope.is_province or scope.covers(f["properties"]["code"])]
    DataLayer("region_layer.html", "地市", _region_payload(features(2), counts, mode, period, domain),
              weight=1.2).add_to(m)
    if boundaries.has_counties:
        DataLayer("region_layer.html", "区县", _region_payload(features(3), counts, mode, period, domain),
                  show=scope.is_prefecture, weight=0.6).add_to(m)
    markers, unplaced = [], 0
    for row in rows:
        colour = _colour(row, domain)
        if not _shown(colour, show):
            continue
        place = places.get(row["code"])
        if not place or place["lat"] is None or place["lon"] is None:
            unplaced += 1
            continue
        markers.append([round(place["lat"], 5), round(place["lon"], 5), colour, _radius(place["beds"]), row["name"],
                        row["code"], row["level"], row["rating"], row["deficit"], row["debt"], row["wages"],
                        _drivers(row, domain)])
    DataLayer("hospital_layer.html", "医院", {
        "rows": markers, "colours": COLOURS, "names": overview.COLOUR_NAMES, "domains": overview.DOMAIN_NAMES,
        "whyTitle": "主要原因：", "hospitalUrl": _hospital_url(period)}).add_to(m)
    Controls().add_to(m)
    Legend(_legend(mode, domain, boundaries)).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    root = m.get_root()
    root.render()
    return {"header": root.header.render(), "html": root.html.render(), "script": root.script.render(),
            "counts": Counter(_colour(r, domain) for r in rows), "markers": len(markers), "unplaced": unplaced,
            "boundaries": boundaries}


# --- views ------------------------------------------------------------------------------

def _choice(name: str, options: dict, default: str) -> str:
    value = request.args.get(name, default)
    return value if value in options else default


@bp.get("/")
@login_required("reviewer", "admin", "leader", "prefecture", "prefecture-leader")
def index():
    conn = get_conn()
    period, periods = month.chosen(conn)
    domain, mode = _choice("domain", DOMAINS, "overall"), _choice("mode", MODES, "worst")
    show = _choice("show", SHOWS, "all")
    scope = current_scope()
    built = cached_map(conn, period, domain, mode, show, scope) if period else None
    mismatches = (len(geography.location_mismatches(conn, built["boundaries"]))
                  if built and g.user["role"] == "admin" else 0)
    return render_template("maps/index.html", period=period, periods=periods, domain=domain, mode=mode,
                           show=show, domains=DOMAINS, modes=MODES, shows=SHOWS, built=built,
                           colours=overview.COLOUR_NAMES, mismatches=mismatches,
                           area=area_name(conn, scope) if scope.is_prefecture else None)


@bp.get("/regions/<code>")
@login_required("reviewer", "admin", "leader", "prefecture", "prefecture-leader")
def region(code):
    conn = get_conn()
    where, extra = current_scope().region_clause("code")   # another prefecture's region: 404
    info = conn.execute(sql.SQL("SELECT code, name, level FROM region WHERE code = %(code)s AND {}").format(where),
                        {"code": code} | extra).fetchone()
    if info is None:
        abort(404)
    period, periods = month.chosen(conn)
    domain = _choice("domain", DOMAINS, "overall")
    regions = _regions_of(conn)
    rows = [r for r in (overview.period_overview(conn, period, current_scope()) if period else [])
            if code in regions.get(r["region_code"], (r["region_code"][:4] + "00", None))]
    headers, cells = tables.ratings_table(rows)
    if tables.wanted("region") and period:
        return tables.send(f"{info['name']} {period}", headers, cells, f"{info['name']}医院风险评级_{period}.xlsx")
    counts = Counter(_colour(r, domain) for r in rows)
    return render_template("maps/region.html", region=info, period=period, periods=periods, rows=rows, cells=cells,
                           counts=counts, domain=domain, domains=DOMAINS, colours=overview.COLOUR_NAMES,
                           domain_names=overview.DOMAIN_NAMES, colour_of=_colour, hospital_url=_hospital_url(period))


@bp.get("/boundaries")
@login_required("admin")
def boundaries():
    conn = get_conn()
    active = geography.active_boundaries(conn)
    return render_template("maps/boundaries.html", active=active, versions=geography.versions(conn),
                           mismatches=geography.location_mismatches(conn, active),
                           prefectures=int((active.frame["level"] == 2).sum()),
                           counties=int((active.frame["level"] == 3).sum()))


@bp.post("/boundaries")
@login_required("admin")
def upload_boundaries():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("请选择要上传的边界文件", "error")
        return redirect(url_for("maps.boundaries"))
    try:
        geography.load_official(get_conn(), upload.read(), upload.filename, g.user)
    except HemonError as exc:
        flash(f"边界文件未采用：{exc}", "error")
    else:
        flash(f"已采用官方边界文件 {upload.filename}", "success")
    return redirect(url_for("maps.boundaries"))


@bp.post("/boundaries/reset")
@login_required("admin")
def reset_boundaries():
    n = geography.reset_official(get_conn(), g.user)
    flash("已恢复内置边界" if n else "当前已在使用内置边界", "success")
    return redirect(url_for("maps.boundaries"))


# --- commands ---------------------------------------------------------------------------

@click.command("load-boundaries")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def load_boundaries_command(file):
    """Validate an official boundary file (GeoJSON, Shapefile zip, GeoPackage) and use it."""
    try:
        version = geography.load_official(get_conn(), file.read_bytes(), file.name)
    except HemonError as exc:
        click.echo(f"错误：{exc}", err=True)
        sys.exit(1)
    click.echo(f"已采用官方边界文件 {file.name}（版本 {version}）")


@click.command("reset-boundaries")
@with_appcontext
def reset_boundaries_command():
    """Stop using the official boundary file; go back to the packaged boundaries."""
    n = geography.reset_official(get_conn())
    click.echo("已恢复内置边界" if n else "当前已在使用内置边界")


commands = [load_boundaries_command, reset_boundaries_command]
