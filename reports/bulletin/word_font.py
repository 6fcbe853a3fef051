"""Set every style of a Word document in the bulletin's CJK font, in Chinese, and embed that
font, so Word and LibreOffice show it on any machine.

`use_cjk_font` makes the font explicit everywhere a run's font is decided: the document
defaults and every style get w:rFonts ascii/hAnsi/eastAsia/cs = the CJK family with no theme
attribute (a w:asciiTheme wins over w:ascii, and the template's theme names Calibri/Cambria
and, for East Asian text, the ja-JP script font), the theme's own fonts become the CJK family
too, and the language is zh-CN (w:lang and w:themeFontLang), so CJK punctuation and glyph
variants are the Simplified Chinese ones.

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

THEME_ATTRIBUTES = ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme")
FONT_ATTRIBUTES = ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs")
LANGUAGE = "zh-CN"
DRAWINGML = "http://schemas.openxmlformats.org/drawingml/2006/main"
STYLES_WITH_EFFECTS = "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects"
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


def set_fonts(rpr) -> None:
    """Give a w:rPr explicit CJK fonts for every script, dropping theme references."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)         # w:rFonts comes first in w:rPr (w:rStyle is not used here)
    for attr in THEME_ATTRIBUTES:
        fonts.attrib.pop(qn(attr), None)
    for attr in FONT_ATTRIBUTES:
        fonts.set(qn(attr), CJK_FAMILY)


def _set_language(rpr) -> None:
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), LANGUAGE)
    lang.set(qn("w:eastAsia"), LANGUAGE)


def use_cjk_font(document) -> None:
    """Every style, the defaults and the theme in the CJK family, language zh-CN."""
    styles = document.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    set_fonts(rpr)
    _set_language(rpr)
    # Every w:rFonts in a style, including table styles' conditional formats (w:tblStylePr).
    for fonts in list(styles.iter(qn("w:rFonts"))):
        set_fonts(fonts.getparent())
    settings = document.settings.element
    theme_lang = settings.find(qn("w:themeFontLang"))
    if theme_lang is not None:
        theme_lang.set(qn("w:val"), LANGUAGE)
        theme_lang.set(qn("w:eastAsia"), LANGUAGE)
    part = document.part
    for rel_id, rel in list(part.rels.items()):
        # Word 2010's duplicate of styles.xml, with the template's theme fonts: not needed.
        if rel.reltype == STYLES_WITH_EFFECTS:
            part.drop_rel(rel_id)
        elif rel.reltype == RT.THEME:
            rel.target_part._blob = _theme_in_cjk(rel.target_part.blob)


def _theme_in_cjk(blob: bytes) -> bytes:
    """The theme's major and minor fonts: the CJK family for Latin and East Asian text, and
    no per-script substitutes (the template's list maps Jpan first)."""
    from lxml import etree
    root = etree.fromstring(blob)
    ns = {"a": DRAWINGML}
    for scheme in root.iterfind(".//a:fontScheme/*", ns):
        for tag in ("latin", "ea", "cs"):
            el = scheme.find(f"a:{tag}", ns)
            if el is not None:
                el.set("typeface", CJK_FAMILY)
        for script_font in scheme.findall("a:font", ns):
            scheme.remove(script_font)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
