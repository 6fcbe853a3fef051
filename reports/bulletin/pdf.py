"""The bulletin as PDF (fpdf2), drawn from the layout blocks, with Noto Sans CJK SC embedded
(subset) so any reader shows it the same."""
from __future__ import annotations

import io

from fpdf import FPDF
from fpdf.enums import WrapMode
from fpdf.fonts import FontFace

from reports.bulletin.layout import blocks
from reports.fonts import FONT_PATH, SC_INDEX

# Only the colours that ask for attention are shaded; green reads as plain text.
FILLS = {"red": (244, 199, 195), "yellow": (252, 232, 178), "missing": (230, 230, 230)}
HEADER_FILL = (220, 227, 236)
INK, ACCENT, GREY = (20, 20, 20), (23, 55, 94), (110, 110, 110)
FAMILY = "NotoSansSC"


class _Document(FPDF):
    def __init__(self, footer_text: str):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.footer_text = footer_text
        # One face serves every style; headings stand out by size and colour, not weight.
        for style in ("", "B"):
            self.add_font(FAMILY, style=style, fname=str(FONT_PATH), collection_font_number=SC_INDEX)
        self.set_margins(20, 20, 20)
        self.set_auto_page_break(True, margin=18)

    def footer(self):
        self.set_y(-13)
        self.set_font(FAMILY, size=8)
        self.set_text_color(*GREY)
        self.cell(0, 5, f"{self.footer_text}    第 {self.page_no()} 页 / 共 {{nb}} 页", align="C")


def render(content: dict, images: dict[str, bytes]) -> bytes:
    pdf = _Document(f"{content['title']}（{content['period_label']}）")
    pdf.set_title(f"{content['title']} {content['period_label']}")
    pdf.set_creator("hemon")
    pdf.add_page()
    _title(pdf, content)
    for block in blocks(content):
        kind = block["kind"]
        if kind == "heading":
            if block.get("page_break"):
                pdf.add_page()
            _heading(pdf, block)
        elif kind == "para":
            _para(pdf, block["text"])
        elif kind == "note":
            pdf.set_font(FAMILY, size=8.5)
            pdf.set_text_color(153, 51, 0)
            pdf.multi_cell(0, 5, block["text"], new_x="LMARGIN", new_y="NEXT", wrapmode=WrapMode.CHAR)
            pdf.ln(1)
        elif kind == "image":
            _image(pdf, images[block["name"]], block["caption"])
        elif kind == "table":
            _table(pdf, block)
    return bytes(pdf.output())


def _title(pdf, c) -> None:
    pdf.set_font(FAMILY, size=19)
    pdf.set_text_color(*ACCENT)
    pdf.multi_cell(0, 11, c["title"], align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=10)
    pdf.set_text_color(*GREY)
    pdf.cell(0, 7, f"{c['period_label']}    生成于 {c['generated_at'][:10]}", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(*ACCENT)
    pdf.set_line_width(0.6)
    pdf.line(20, pdf.get_y() + 2, 190, pdf.get_y() + 2)
    pdf.ln(6)


def _heading(pdf, block) -> None:
    level = block["level"]
    if pdf.get_y() > pdf.h - 50:        # never a heading alone at the foot of a page
        pdf.add_page()
    pdf.ln(3 if level == 1 else 1)
    pdf.set_font(FAMILY, size=14 if level == 1 else 11.5)
    pdf.set_text_color(*(ACCENT if level == 1 else INK))
    pdf.multi_cell(0, 8 if level == 1 else 7, block["text"], new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


def _para(pdf, text: str) -> None:
    pdf.set_font(FAMILY, size=10.5)
    pdf.set_text_color(*INK)
    pdf.multi_cell(0, 6.4, "\u3000\u3000" + text, new_x="LMARGIN", new_y="NEXT", wrapmode=WrapMode.CHAR)
    pdf.ln(1.5)


def _image(pdf, data: bytes, caption: str) -> None:
    from PIL import Image
    with Image.open(io.BytesIO(data)) as im:
        ratio = im.height / im.width
    width = 160
    height = width * ratio
    if pdf.get_y() + height + 8 > pdf.h - pdf.b_margin:
        pdf.add_page()
    pdf.image(io.BytesIO(data), x=(pdf.w - width) / 2, w=width)
    pdf.set_font(FAMILY, size=8.5)
    pdf.set_text_color(*GREY)
    pdf.cell(0, 5, caption, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def _table(pdf, block) -> None:
    size = 7.5 if block.get("small") else 8.5
    pdf.set_font(FAMILY, size=size)
    pdf.set_text_color(*INK)
    pdf.set_draw_color(160, 160, 160)
    pdf.set_line_width(0.2)
    heading = FontFace(family=FAMILY, size_pt=size, color=INK, fill_color=HEADER_FILL)
    with pdf.table(col_widths=tuple(block["widths"]), width=170, line_height=size * 0.55,
                   headings_style=heading, repeat_headings=1, text_align="LEFT",
                   padding=(0.8, 1.2), wrapmode=WrapMode.CHAR) as table:
        header = table.row()
        for name in block["columns"]:
            header.cell(str(name))
        for values in block["rows"]:
            row = table.row()
            for value in values:
                if isinstance(value, dict):
                    row.cell(value["text"], style=FontFace(fill_color=FILLS.get(value.get("colour"))))
                else:
                    row.cell("" if value is None else str(value))
    pdf.ln(3)
