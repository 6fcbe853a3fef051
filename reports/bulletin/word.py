"""The bulletin as a Word document (python-docx), drawn from the layout blocks."""
from __future__ import annotations

import io

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from reports.bulletin import word_font
from reports.bulletin.layout import blocks
from reports.fonts import CJK_FAMILY

# Only the colours that ask for attention are shaded; green reads as plain text.
FILLS = {"red": "F4C7C3", "yellow": "FCE8B2", "missing": "E6E6E6"}
TEXT_WIDTH_CM = 16.0


def render(content: dict, images: dict[str, bytes]) -> bytes:
    doc = Document()
    _page(doc)
    _styles(doc)
    _title(doc, content)
    for block in blocks(content):
        kind = block["kind"]
        if kind == "heading":
            if block.get("page_break"):
                doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
            doc.add_heading(block["text"], level=block["level"])
        elif kind == "para":
            doc.add_paragraph(block["text"])
        elif kind == "note":
            p = doc.add_paragraph()
            run = p.add_run(block["text"])
            run.font.color.rgb = RGBColor(0x99, 0x33, 0x00)
            run.font.size = Pt(9)
        elif kind == "image":
            doc.add_picture(io.BytesIO(images[block["name"]]), width=Cm(TEXT_WIDTH_CM))
            doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
            cap = doc.add_paragraph(block["caption"], style="Caption")
            cap.alignment = WD_ALIGN_PARAGRAPH.CENTER
        elif kind == "table":
            _table(doc, block)
    word_font.embed(doc, _all_text(doc))
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _all_text(doc) -> str:
    """Every character the document shows (body, tables, footer), for the font subset."""
    root = doc.element.body
    parts = [t.text or "" for t in root.iter(qn("w:t"))]
    for section in doc.sections:
        parts += [t.text or "" for t in section.footer._element.iter(qn("w:t"))]
    return "".join(sorted(set("".join(parts))))


def _page(doc) -> None:
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2.5)
    section.top_margin, section.bottom_margin = Cm(2.5), Cm(2.2)
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.add_run("— ")
    _field(footer.add_run(), "PAGE")
    footer.add_run(" —")


def _field(run, instruction: str) -> None:
    for tag, text in (("begin", None), (None, instruction), ("end", None)):
        if tag:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), tag)
        else:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = text
        run._r.append(el)


def _font(style, size: float, bold: bool = False, colour: RGBColor | None = None) -> None:
    style.font.name = CJK_FAMILY
    style.font.size = Pt(size)
    style.font.bold = bold
    if colour is not None:
        style.font.color.rgb = colour
    word_font.set_fonts(style.element.get_or_add_rPr())


def _styles(doc) -> None:
    word_font.use_cjk_font(doc)
    normal = doc.styles["Normal"]
    _font(normal, 11)
    normal.paragraph_format.line_spacing = 1.4
    normal.paragraph_format.space_after = Pt(4)
    normal.paragraph_format.first_line_indent = Pt(22)
    black = RGBColor(0, 0, 0)
    for name, size in (("Title", 20), ("Heading 1", 15), ("Heading 2", 12.5)):
        style = doc.styles[name]
        _font(style, size, bold=True, colour=black)
        style.paragraph_format.first_line_indent = Pt(0)
        style.paragraph_format.space_before = Pt(12 if name == "Heading 1" else 6)
        style.paragraph_format.space_after = Pt(6)
    caption = doc.styles["Caption"]
    _font(caption, 9, colour=RGBColor(0x44, 0x44, 0x44))
    caption.paragraph_format.first_line_indent = Pt(0)


def _title(doc, c: dict) -> None:
    p = doc.add_paragraph(c["title"], style="Title")
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    sub = doc.add_paragraph()
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
    sub.paragraph_format.first_line_indent = Pt(0)
    run = sub.add_run(f"{c['period_label']}    生成于 {c['generated_at'][:10]}")
    run.font.size = Pt(10.5)


def _table(doc, block: dict) -> None:
    columns, rows = block["columns"], block["rows"]
    size = Pt(8 if block.get("small") else 9)
    table = doc.add_table(rows=1 + len(rows), cols=len(columns))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    total = sum(block["widths"])
    widths = [Cm(TEXT_WIDTH_CM * w / total) for w in block["widths"]]
    _grid(table, widths)
    # table.rows is built once: indexing it row by row is quadratic on a 1,500-row appendix.
    for r, (tr, values) in enumerate(zip(table.rows, [columns] + rows)):
        for i, (cell, value) in enumerate(zip(tr.cells, values)):
            cell.width = widths[i]
            colour = value.get("colour") if isinstance(value, dict) else None
            text = value["text"] if isinstance(value, dict) else ("" if value is None else str(value))
            para = cell.paragraphs[0]
            para.paragraph_format.first_line_indent = Pt(0)
            para.paragraph_format.space_after = Pt(0)
            para.paragraph_format.line_spacing = 1.1
            run = para.add_run(text)
            run.font.size = size
            if r == 0:
                run.bold = True
                _shade(cell, "DCE3EC")
            elif colour in FILLS:
                _shade(cell, FILLS[colour])
    _repeat_header(table.rows[0])
    doc.add_paragraph().paragraph_format.space_after = Pt(2)


def _grid(table, widths) -> None:
    """Column widths where every reader looks: w:tblGrid (LibreOffice draws from it and
    ignores cell widths), a fixed layout and the table's total width (Word)."""
    table.autofit = False                      # w:tblLayout w:type="fixed"
    for col, width in zip(table._tbl.tblGrid.findall(qn("w:gridCol")), widths):
        col.set(qn("w:w"), str(int(width.twips)))
    tbl_pr = table._tbl.tblPr
    tbl_w = tbl_pr.find(qn("w:tblW"))
    if tbl_w is None:
        tbl_w = OxmlElement("w:tblW")
        tbl_pr.append(tbl_w)
    tbl_w.set(qn("w:w"), str(sum(int(w.twips) for w in widths)))
    tbl_w.set(qn("w:type"), "dxa")


def _shade(cell, fill: str) -> None:
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shd)


def _repeat_header(row) -> None:
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(el)
