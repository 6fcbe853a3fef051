"""The monthly bulletin on the demo province: its numbers against the database (counted
here by independent queries) and against the web pages, and its Word and PDF read back."""
import io
import re
from collections import Counter
from decimal import Decimal

import pytest
from docx import Document
from pypdf import PdfReader

from app.db import get_conn
from etl.common.codes import shift_period
from etl.demo.province import DEMO_LAST
from reports.bulletin.build import build
from reports.bulletin.layout import blocks
from reports.bulletin.text import yi

PERIOD = DEMO_LAST


@pytest.fixture(scope="module")
def built(demo_app):
    with demo_app.app_context():
        return build(get_conn(), PERIOD)


@pytest.fixture()
def db(demo_app):
    with demo_app.app_context():
        yield get_conn()


def _one(db, sql, *params):
    return next(iter(db.execute(sql, params).fetchone().values()))


def test_colour_counts_match_the_rating_table(built, db):
    c = built.content
    by_colour = {r["rating"]: r["n"] for r in db.execute(
        "SELECT rating, count(*) AS n FROM rating WHERE period = %s GROUP BY rating", (PERIOD,))}
    hospitals = _one(db, "SELECT count(*) FROM hospital")
    assert c["counts"]["total"] == hospitals == 136
    for colour in ("red", "yellow", "green"):
        assert c["counts"][colour] == by_colour.get(colour, 0)
    assert c["counts"]["missing"] == hospitals - sum(by_colour.get(k, 0) for k in ("red", "yellow", "green"))
    assert c["counts"]["red"] > 0 and c["counts"]["yellow"] > 0
    before = {r["rating"]: r["n"] for r in db.execute(
        "SELECT rating, count(*) AS n FROM rating WHERE period = %s GROUP BY rating", (shift_period(PERIOD, -1),))}
    assert c["previous_counts"]["red"] == before.get("red", 0)
    year_ago = {r["rating"]: r["n"] for r in db.execute(
        "SELECT rating, count(*) AS n FROM rating WHERE period = %s GROUP BY rating", (shift_period(PERIOD, -12),))}
    assert c["last_year_counts"]["yellow"] == year_ago.get("yellow", 0)
    # The sentence says the same numbers, with the changes worked out.
    text = "".join(c["summary"])
    assert f"红色{c['counts']['red']}家" in text and f"黄色{c['counts']['yellow']}家" in text
    diff = c["counts"]["red"] - before.get("red", 0)
    expected = "持平" if diff == 0 else f"{'增加' if diff > 0 else '减少'}{abs(diff)}家"
    assert f"与上月相比，红色{expected}" in text


def test_filing_counts_match_the_returns(built, db):
    f = built.content["filing"]
    rows = db.execute(
        """SELECT h.code, filed_late(min(r.submitted_at), p.deadline) AS late FROM hospital h
           CROSS JOIN period p LEFT JOIN return r ON r.hospital_code = h.code AND r.period = p.period
           WHERE p.period = %s GROUP BY h.code, p.deadline""", (PERIOD,)).fetchall()
    on_time = sum(1 for r in rows if r["late"] is False)
    late = sum(1 for r in rows if r["late"])
    assert (f["on_time"], f["late"], f["missing"]) == (on_time, late, len(rows) - on_time - late)
    assert f"按时{on_time}家、逾期{late}家" in built.content["summary"][0]
    late_codes = {r["code"] for r in rows if r["late"]}
    assert {h["code"] for h in built.content["quality"]["late"]} == late_codes


def test_movements_match_last_month(built, db):
    pairs = {r["code"]: (r["now"], r["before"]) for r in db.execute(
        """SELECT n.hospital_code AS code, n.rating AS now, coalesce(b.rating, 'missing') AS before
           FROM rating n LEFT JOIN rating b ON b.hospital_code = n.hospital_code AND b.period = %s
           WHERE n.period = %s""", (shift_period(PERIOD, -1), PERIOD))}
    moves = built.content["movements"]
    assert {m["code"] for m in moves["newly_red"]} == {k for k, (a, b) in pairs.items() if a == "red" and b != "red"}
    assert {m["code"] for m in moves["newly_yellow"]} == {
        k for k, (a, b) in pairs.items() if a == "yellow" and b in ("green", "missing")}
    rank = {"green": 1, "yellow": 2, "red": 3}
    assert {m["code"] for m in moves["improved"]} == {
        k for k, (a, b) in pairs.items() if a in rank and b in rank and rank[a] < rank[b]}
    assert len(moves["stayed_red"]) > 0


def test_domain_sections_match_the_domain_colours(built, db):
    for d in built.content["domains"]:
        counts = Counter(r[d["key"]] for r in db.execute(
            f"SELECT {d['key']} FROM rating WHERE period = %s", (PERIOD,)))   # key is one of three fixed names
        assert d["counts"]["red"] == counts.get("red", 0)
        assert d["counts"]["yellow"] == counts.get("yellow", 0)
        assert d["concern_total"] == counts.get("red", 0) + counts.get("yellow", 0)
        colours = [h["colour"] for h in d["concern"]]
        assert colours == sorted(colours, key=lambda x: x != "red"), "red hospitals come first"
        for ind in d["indicators"]:
            reds = _one(db, "SELECT count(*) FROM indicator_value WHERE period = %s AND indicator = %s AND rating = 'red'",
                        PERIOD, ind["indicator"])
            assert ind["red"] == reds


def test_finance_and_attribution_totals_match_the_facts(built, db):
    revenue = _one(db, """SELECT sum(v.amount) FROM return_value v JOIN return r ON r.id = v.return_id
                          WHERE r.period = %s AND r.is_current AND v.item_code = 'R100' AND v.column_name = 'month'""",
                   PERIOD)
    assert Decimal(built.content["finance"]["now"]["revenue"]) == revenue
    assert f"总收入合计{yi(revenue)}" in "".join(built.content["summary"])
    unattributed = _one(db, """SELECT coalesce(sum(a.amount), 0) FROM attribution_total a JOIN return r ON r.id = a.return_id
                               WHERE r.period = %s AND r.is_current AND a.system = 'subject' AND a.category = '未归集'""",
                        PERIOD)
    assert built.content["attribution"]["unattributed"] == f"{unattributed / 10000:,.2f}万元"
    assert built.content["attribution"]["version"] == "演示口径2024"


def test_appendix_lists_every_hospital_with_its_colours(built, db):
    rows = {r["hospital_code"]: r for r in db.execute("SELECT * FROM rating WHERE period = %s", (PERIOD,))}
    appendix = built.content["appendix"]
    assert len(appendix) == 136
    for a in appendix:
        r = rows.get(a["code"])
        assert a["rating"] == (r["rating"] if r else "missing")
        if r:
            assert (a["deficit"], a["debt"], a["wages"]) == (r["deficit"], r["debt"], r["wages"])
    assert sum(g["total"] for g in built.content["by_prefecture"]) == 136
    assert sum(g["red"] for g in built.content["by_level"]) == built.content["counts"]["red"]


def test_the_web_shows_the_same_numbers(built, demo_app, auth_for):
    client = demo_app.test_client()
    auth_for(client).login("reviewer", "demo-review-2026")
    page = client.get(f"/?period={PERIOD}").get_data(as_text=True)
    for colour in ("red", "yellow", "green", "missing"):
        shown = re.search(rf'data-colour="{colour}">[^<]*<b>(\d+)</b>', page).group(1)
        assert int(shown) == built.content["counts"][colour], colour
    for key in ("newly_red", "newly_yellow", "improved", "stayed_red"):
        shown = re.search(rf'data-list="{key}"><h3>[^<]*<b>(\d+)</b>', page).group(1)
        assert int(shown) == len(built.content["movements"][key]), key
    submissions = client.get(f"/periods/{PERIOD}/submissions").get_data(as_text=True)
    assert f"完整率 <b>{built.content['filing']['completeness']}</b>" in submissions
    assert f"及时率 <b>{built.content['filing']['timeliness']}</b>" in submissions


def test_word_document_reads_back(built):
    media, data = built.files["bulletin.docx"]
    doc = Document(io.BytesIO(data))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "四川省公立医院经济运行监测月报" in text
    for heading in ("一、总体情况", "二、红黄绿分布", "三、收不抵支风险", "四、长期债务风险", "五、拖欠薪酬风险",
                    "六、风险处置", "七、归集口径执行情况", "八、填报质量", "附表"):
        assert heading in text
    assert built.content["summary"][1] in text
    assert len(doc.inline_shapes) == sum(1 for b in blocks(built.content) if b["kind"] == "image") == 6
    appendix = doc.tables[-1]
    assert len(appendix.rows) == 1 + 136
    assert doc.styles["Normal"].element.rPr.rFonts.get(
        "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia") == "Noto Sans CJK SC"


def test_word_document_carries_its_font(built):
    """The font is embedded (obfuscated TrueType) and covers every character shown."""
    import uuid
    import zipfile

    from fontTools.ttLib import TTFont
    data = built.files["bulletin.docx"][1]
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        table = z.read("word/fontTable.xml").decode()
        settings = z.read("word/settings.xml").decode()
        body = z.read("word/document.xml").decode()
        obfuscated = z.read("word/fonts/font1.odttf")
        rels = z.read("word/_rels/fontTable.xml.rels").decode()
    assert "<w:embedTrueTypeFonts/>" in settings and "font1.odttf" in rels
    key = re.search(r'w:name="Noto Sans CJK SC".*?w:fontKey="\{([0-9A-F-]+)\}"', table, re.S).group(1)
    reverse = uuid.UUID(key).bytes[::-1]
    font = TTFont(io.BytesIO(bytes(b ^ reverse[i % 16] for i, b in enumerate(obfuscated[:32])) + obfuscated[32:]))
    assert "glyf" in font and "CFF " not in font
    assert font["name"].getDebugName(1) == "Noto Sans CJK SC"
    shown = set(re.sub(r"<[^>]+>", "", body)) - set("\n\r\t")
    covered = {chr(c) for c in font.getBestCmap()}
    assert shown - covered == set()


def test_pdf_reads_back_with_the_font_embedded(built):
    media, data = built.files["bulletin.pdf"]
    assert media == "application/pdf"
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 5
    # pypdf reads fpdf2's two-byte text with a NUL beside each character; poppler does not.
    first = re.sub(r"[\s\x00]+", "", reader.pages[0].extract_text())
    assert "公立医院经济运行监测月报" in first
    assert re.sub(r"\s+", "", built.content["summary"][0])[:30] in first
    fonts = {str(f["/BaseFont"]) for page in reader.pages[:1]
             for f in page["/Resources"]["/Font"].get_object().values()}
    assert any("NotoSansCJK" in f or "NotoSansSC" in f for f in fonts), fonts


def test_figures_are_pictures(built):
    for name in ("map.png", "trend-overall.png", "trend-deficit.png", "trend-debt.png", "trend-wages.png",
                 "prefectures.png"):
        media, data = built.files[name]
        assert media == "image/png" and data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_archived_snapshots_draw_in_the_format_they_were_written_in(built):
    """A snapshot from before formats were numbered is format 1; a format this build does not
    know is refused with a reason instead of being drawn wrongly."""
    from etl.common.errors import HemonError
    from reports.bulletin.content import FORMAT
    content = built.content
    assert content["format"] == FORMAT
    before = {k: v for k, v in content.items() if k != "format"}
    assert blocks(before) == blocks({**before, "format": 1})
    with pytest.raises(HemonError, match="月报数据格式"):
        blocks({**content, "format": FORMAT + 1})


def test_every_red_domain_has_its_case_and_the_bulletin_lists_them(built, db):
    """On the demo: each red domain of the month belongs to a case in hand, and the bulletin's
    风险处置 counts are the cases table's."""
    uncovered = _one(db, """SELECT count(*) FROM rating r
                            CROSS JOIN LATERAL (VALUES ('deficit', r.deficit), ('debt', r.debt), ('wages', r.wages))
                                 AS d (domain, colour)
                            WHERE r.period = %s AND d.colour = 'red' AND NOT EXISTS (
                                SELECT 1 FROM risk_case c WHERE c.hospital_code = r.hospital_code
                                AND c.domain = d.domain AND c.status <> 'closed')""", PERIOD)
    assert uncovered == 0
    cases = built.content["cases"]
    assert len(cases["new"]) == _one(db, "SELECT count(*) FROM risk_case WHERE opened_period = %s", PERIOD)
    in_hand = _one(db, "SELECT count(*) FROM risk_case WHERE opened_period <= %s AND status <> 'closed'", PERIOD)
    assert cases["in_hand"] == in_hand > 0
    assert sum(s["count"] for s in cases["by_state"]) == in_hand
