"""The Word bulletin as LibreOffice draws it on a machine without CJK fonts, built for a
province where most prefectures have no hospital (map, figures, Word, PDF, pages)."""
import io
import re
import subprocess
import zipfile

import pytest
from docx import Document
from docx.oxml.ns import qn

from reports.bulletin.build import build
from reports.bulletin.layout import blocks
from reports.fonts import CJK_FAMILY

PERIOD = "2026-10"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@pytest.fixture()
def bulletin(conn, sparse_province):
    return build(conn, PERIOD)


def test_sparse_province_builds_every_figure(bulletin):
    by_prefecture = bulletin.content["by_prefecture"]
    assert len(by_prefecture) == 2                     # 2 of the 21 prefectures have hospitals
    for name, (kind, data) in bulletin.files.items():
        assert data, name
        if name.endswith(".png"):
            assert kind == "image/png" and data.startswith(b"\x89PNG"), name
    assert "map.png" in bulletin.files


def test_every_style_names_the_cjk_font_and_no_theme_font(bulletin):
    docx = bulletin.files["bulletin.docx"][1]
    with zipfile.ZipFile(io.BytesIO(docx)) as z:
        styles, settings, theme = (z.read(n).decode() for n in
                                   ("word/styles.xml", "word/settings.xml", "word/theme/theme1.xml"))
        document = z.read("word/document.xml").decode()
        assert "word/stylesWithEffects.xml" not in z.read("word/_rels/document.xml.rels").decode()
    assert not re.search(r"w:(ascii|hAnsi|eastAsia|cs)[Tt]heme=", styles + document)
    fonts = re.findall(r"<w:rFonts [^>]*/>", styles)
    assert fonts and all(f'w:{a}="{CJK_FAMILY}"' in f for f in fonts for a in ("ascii", "hAnsi", "eastAsia", "cs"))
    assert 'w:eastAsia="zh-CN"' in re.search(r"<w:docDefaults>.*</w:docDefaults>", styles).group(0)
    assert re.search(r'<w:themeFontLang [^>]*w:eastAsia="zh-CN"', settings)
    assert "ja-JP" not in settings + styles and 'script="Jpan"' not in theme
    assert f'<a:ea typeface="{CJK_FAMILY}"/>' in theme


def test_table_grid_carries_the_column_widths(bulletin):
    doc = Document(io.BytesIO(bulletin.files["bulletin.docx"][1]))
    table_blocks = [b for b in blocks(bulletin.content) if b["kind"] == "table"]
    assert len(doc.tables) == len(table_blocks)
    for table, block in zip(doc.tables, table_blocks):
        grid = [int(c.get(qn("w:w"))) for c in table._tbl.tblGrid.findall(qn("w:gridCol"))]
        assert table._tbl.tblPr.find(qn("w:tblLayout")).get(qn("w:type")) == "fixed"
        total = sum(block["widths"])
        expected = [w / total for w in block["widths"]]
        assert [round(g / sum(grid), 3) for g in grid] == [round(e, 3) for e in expected], block["columns"]


def _pdf_fonts(pdf) -> list[str]:
    lines = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True).stdout.splitlines()
    return [line.split()[0] for line in lines[2:]]


def test_libreoffice_sets_every_heading_in_the_embedded_font(bulletin, libreoffice, tmp_path):
    listed = subprocess.run(["fc-list", ":lang=zh"], env=libreoffice.env, capture_output=True, text=True).stdout
    assert listed.strip() == ""                         # no system CJK font could hide a missing one
    path = tmp_path / "bulletin.docx"
    path.write_bytes(bulletin.files["bulletin.docx"][1])
    pdf = libreoffice(path, "pdf")
    fonts = _pdf_fonts(pdf)
    # Every font in the PDF is the embedded Noto Sans CJK SC: no theme font fell back to DejaVu.
    assert fonts and all("NotoSansCJK" in f.replace(" ", "") for f in fonts), fonts
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    flat = re.sub(r"\s+", "", text)
    headings = [b["text"] for b in blocks(bulletin.content) if b["kind"] == "heading"]
    headings.append(bulletin.content["title"])
    for heading in headings:
        assert re.sub(r"\s+", "", heading) in flat, heading
    assert "\ufffd" not in text and sum("\u4e00" <= ch <= "\u9fff" for ch in text) > 200


def test_figures_draw_empty_data(conn, sparse_province, bulletin):
    """No prefecture on the map with a hospital (e.g. the registry's counties unknown to the
    boundaries), no months of trend, no prefectures: every figure is still drawn."""
    from reports.bulletin import figures
    content = dict(bulletin.content, by_prefecture=[{"name": "未登记地区", "red": 1, "yellow": 0, "green": 0,
                                                     "missing": 0, "total": 1}])
    empty_trend = {"periods": [], "overall": {}} | {d["key"]: {} for d in content["domains"]}
    for variant in (content, dict(content, by_prefecture=[], trend=empty_trend)):
        images = figures.draw(conn, variant)
        assert images["map.png"].startswith(b"\x89PNG") and images["prefectures.png"].startswith(b"\x89PNG")
        assert all(data.startswith(b"\x89PNG") for data in images.values())
