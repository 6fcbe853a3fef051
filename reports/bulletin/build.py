"""Build a bulletin: its content (content.compose), figures, the .docx and the .pdf."""
from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

from etl.reference.scope import Scope
from reports.bulletin import figures, pdf, word
from reports.bulletin.content import PROVINCE, compose


@dataclass
class Bulletin:
    period: str
    content: dict
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)


def build(conn: psycopg.Connection, period: str, scope: Scope = PROVINCE) -> Bulletin:
    """The bulletin for `period` over the hospitals in `scope` (the province's, or one
    prefecture's): its content, its figures, and the .docx and .pdf."""
    content = compose(conn, period, scope)
    images = figures.draw(conn, content)
    files = {name: ("image/png", data) for name, data in images.items()}
    files["bulletin.docx"] = ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                              word.render(content, images))
    files["bulletin.pdf"] = ("application/pdf", pdf.render(content, images))
    return Bulletin(period, content, files)
