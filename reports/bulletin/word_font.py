"""Embed the bulletin's CJK font in a Word document, so Word shows it on any machine.

Word embeds TrueType fonts, obfuscated (ECMA-376 Part 1, 17.8.1: the first 32 bytes XORed
with the font key's GUID bytes in reverse order). Noto Sans CJK SC ships as CFF outlines in
a collection, so the characters the document uses (plus ASCII and common punctuation) are
subset out of it and their outlines converted to TrueType quadratics.
"""
from __future__ import annotations

import io
import uuid

from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import qn
from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, newTable

from reports.fonts import CJK_FAMILY, FONT_PATH, SC_INDEX

OBFUSCATED_FONT = "application/vnd.openxmlformats-officedocument.obfuscatedFont"
# Always available: ASCII, full-width punctuation and digits an editor is likely to type.
BASE_CHARACTERS = "".join(chr(c) for c in range(0x20, 0x7F)) + "，。、；：？！“”‘’（）《》【】—…·％０１２３４５６７８９"


def truetype_subset(text: str) -> bytes:
    """Noto Sans CJK SC cut down to the characters of `text`, with TrueType outlines."""
    collection = TTCollection(str(FONT_PATH), lazy=True)
    try:
        font = collection.fonts[SC_INDEX]
        options = subset.Options()
        options.layout_features = ["*"]
        options.name_IDs = ["*"]
        options.notdef_outline = True
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=text + BASE_CHARACTERS)
        subsetter.subset(font)
        _cff_to_glyf(font)
        out = io.BytesIO()
        font.save(out)
    finally:
        collection.close()
    return out.getvalue()


def _cff_to_glyf(font) -> None:
    """Replace the CFF table by glyf/loca (cubic curves approximated by quadratics)."""
    glyph_set = font.getGlyphSet()
    order = font.getGlyphOrder()
    glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyphs[name] = pen.glyph()
    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = glyphs
    font["glyf"] = glyf
    font["loca"] = newTable("loca")
    del font["CFF "]
    if "VORG" in font:
        del font["VORG"]
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for attr in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                 "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):
        setattr(maxp, attr, 1 if attr == "maxZones" else 0)
    maxp.maxPoints = maxp.maxContours = maxp.maxCompositePoints = maxp.maxCompositeContours = 0
    maxp.maxComponentDepth = 0
    font["head"].glyphDataFormat = 0
    font["head"].indexToLocFormat = 0
    post = font["post"]
    post.formatType = 3.0          # no glyph names: smaller, and Word does not need them
    font.sfntVersion = "\x00\x01\x00\x00"
    font.recalcBBoxes = True


def obfuscate(data: bytes, key: uuid.UUID) -> bytes:
    reversed_key = key.bytes[::-1]
    head = bytes(b ^ reversed_key[i % 16] for i, b in enumerate(data[:32]))
    return head + data[32:]


def embed(document, text: str) -> None:
    """Embed the subset font in `document` (python-docx) under the name its styles use."""
    package = document.part.package
    font_table = next(p for p in package.iter_parts() if p.partname == "/word/fontTable.xml")
    key = uuid.uuid4()
    font_part = Part(PackURI("/word/fonts/font1.odttf"), OBFUSCATED_FONT,
                     obfuscate(truetype_subset(text), key), package)
    rel_id = font_table.relate_to(font_part, RT.FONT)
    fonts = parse_xml(font_table.blob)
    entry = next((f for f in fonts.findall(qn("w:font")) if f.get(qn("w:name")) == CJK_FAMILY), None)
    if entry is None:
        entry = OxmlElement("w:font")
        entry.set(qn("w:name"), CJK_FAMILY)
        for tag, value in (("w:charset", "86"), ("w:family", "swiss"), ("w:pitch", "variable")):
            child = OxmlElement(tag)
            child.set(qn("w:val"), value)
            entry.append(child)
        fonts.append(entry)
    embedded = OxmlElement("w:embedRegular")
    embedded.set(qn("r:id"), rel_id)
    embedded.set(qn("w:fontKey"), "{" + str(key).upper() + "}")
    entry.append(embedded)
    from lxml import etree
    font_table._blob = etree.tostring(fonts, xml_declaration=True, encoding="UTF-8", standalone=True)
    # Schema order: …, w:zoom, (w:removePersonalInformation … w:printFormsData),
    # w:embedTrueTypeFonts, w:embedSystemFonts, w:saveSubsetFonts, … (python-docx's template
    # has none of those in between).
    settings = document.settings.element
    anchor = settings.find(qn("w:zoom"))
    position = list(settings).index(anchor) + 1 if anchor is not None else 0
    for tag in ("w:embedTrueTypeFonts", "w:saveSubsetFonts"):
        if settings.find(qn(tag)) is None:
            settings.insert(position, OxmlElement(tag))
        position += 1
