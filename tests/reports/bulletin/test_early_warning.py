"""The bulletin's early-warning section: absent unless the province turned it on and the
backtest precision at its horizon reaches the minimum set; then the list with reasons, drawn
in Word and PDF like any section, and archived snapshots without it draw as before."""
import datetime as dt
import io

from docx import Document
from pypdf import PdfReader

from etl.warning import settings
from reports.bulletin import build, content, layout
from tests.factories import hospital_code, rated_history

A, D = hospital_code(1), hospital_code(4)
# List precision at one month: 2 of 3 (A's warnings right; D's 2026-03 warning wrong).
SERIES = {A: [100, 80, 60, 40, 20, 10], D: [100, 80, 60, 90, 100, 60]}


def _province(conn, series=SERIES):
    periods = rated_history(conn, series)
    for p in periods:
        conn.execute("INSERT INTO period (period, deadline) VALUES (%s, %s)", (p, dt.date(2026, 12, 10)))


def test_off_by_default_and_below_the_minimum(conn):
    _province(conn)
    assert "early_warning" not in content.compose(conn, "2026-03")
    settings.save(conn, True, "70", "1", None)                   # 66.7% < 70%
    assert "early_warning" not in content.compose(conn, "2026-03")


def test_at_the_minimum_the_list_is_in_the_bulletin(conn):
    _province(conn)
    settings.save(conn, True, "66.67", "1", None)                # the stored precision is 0.6667
    c = content.compose(conn, "2026-03")
    e = c["early_warning"]
    assert [(w["code"], w["now"], w["colour"], w["months_ahead"]) for w in e["items"]] == \
        [(A, "green", "yellow", 1), (D, "green", "yellow", 1)]
    assert e["items"][0]["reason"] == "现金可支付天数现为60.0天，近6个月平均每月下降20.0天，预计1个月后降至60.0天以下（黄色）"
    assert "1个月预警名单精确率66.7%、召回率" in e["sentence"]
    drawn = layout.blocks(c)
    headings = [b["text"] for b in drawn if b["kind"] == "heading"]
    assert "六、事前预警" in headings
    table = next(b for b in drawn[drawn.index(next(b for b in drawn if b.get("text") == "六、事前预警")):]
                 if b["kind"] == "table")
    assert table["rows"][0][1] == "测试预警医院1" and table["rows"][0][7].startswith("现金可支付天数")


def test_horizon_limits_the_list(conn):
    _province(conn)
    settings.save(conn, True, "0", "1", None)
    c = content.compose(conn, "2026-03")
    # In 2026-03 A is projected yellow next month and red two months on: a one-month horizon
    # shows the yellow (the three-month list says red).
    assert [(w["code"], w["colour"], w["months_ahead"]) for w in c["early_warning"]["items"]] == \
        [(A, "yellow", 1), (D, "yellow", 1)]
    settings.save(conn, True, "0", "3", None)
    three = content.compose(conn, "2026-03")["early_warning"]["items"]
    assert [(w["code"], w["colour"], w["months_ahead"]) for w in three] == [(A, "red", 2), (D, "red", 2)]


def test_word_and_pdf_carry_the_section(conn):
    _province(conn)
    settings.save(conn, True, "50", "1", None)
    made = build.build(conn, "2026-03")
    docx = "\n".join(p.text for p in Document(io.BytesIO(made.files["bulletin.docx"][1])).paragraphs)
    assert "事前预警" in docx
    pdf = "".join(page.extract_text() for page in PdfReader(io.BytesIO(made.files["bulletin.pdf"][1])).pages)
    pdf = pdf.replace("\x00", "")      # the CJK font's glyphs come out NUL-padded
    assert "事前预警" in pdf and "预警名单" in pdf


def test_a_snapshot_without_the_section_draws_as_before(conn):
    _province(conn)
    c = content.compose(conn, "2026-03")
    assert "early_warning" not in c
    assert not any("事前预警" in str(b.get("text", "")) for b in layout.blocks(c))
