"""Findings: one problem in a return, with its sheet, cell and a message in Chinese."""
from __future__ import annotations

from dataclasses import asdict, dataclass

SEVERITIES = ("error", "warning", "notice")
SEVERITY_LABELS = {"error": "错误（强制性）", "warning": "核实（核实性）", "notice": "提示"}


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    sheet: str
    cell: str | None
    message: str

    def as_dict(self) -> dict:
        return asdict(self)


def has_errors(findings) -> bool:
    return any(f.severity == "error" for f in findings)


class Findings(list):
    """A list of findings with one-line adders per severity."""

    def error(self, code, sheet, cell, message):
        self.append(Finding(code, "error", sheet, cell, message))

    def warning(self, code, sheet, cell, message):
        self.append(Finding(code, "warning", sheet, cell, message))

    def notice(self, code, sheet, cell, message):
        self.append(Finding(code, "notice", sheet, cell, message))
