"""Which workbook sheet holds which table of the return, as a person looking at the tabs sees it.

Excel's Move/Copy leaves `表1 收入费用 (2)` beside (often before) the original, and drafts
get hidden rather than deleted. For each table the candidates are ranked: a visible sheet
with the exact template name, then a visible sheet whose name starts with the table's key
(表1 …), then the same two for hidden sheets. The first rank holding any sheet decides:
one sheet is the table; two or more is an error naming them (the reader cannot know which
one the hospital means). A hidden sheet is used only when no visible one exists, with a
notice saying so; visible copies passed over for an exact name get a notice too.
"""
from __future__ import annotations

from python_calamine import SheetTypeEnum, SheetVisibleEnum

from etl.common.findings import Findings
from etl.returns import contract as rf


def match_sheets(metadata, findings: Findings) -> dict[str, str]:
    """{'表1': sheet name, …} from calamine's sheets_metadata; findings for what is ambiguous."""
    sheets = [(m.name, m.visible == SheetVisibleEnum.Visible) for m in metadata
              if m.typ == SheetTypeEnum.WorkSheet]
    found = {}
    for key, full in rf.SHEETS.items():
        ranks = (
            [n for n, visible in sheets if visible and n.strip() == full],
            [n for n, visible in sheets if visible and n.strip().startswith(key)],
            [n for n, visible in sheets if not visible and n.strip() == full],
            [n for n, visible in sheets if not visible and n.strip().startswith(key)],
        )
        rank, names = next(((i, r) for i, r in enumerate(ranks) if r), (None, []))
        if not names:
            findings.error("SHEET_MISSING", key, None, f"缺少工作表“{full}”")
        elif len(names) > 1:
            shown = "”“".join(names)
            findings.error("SHEET_AMBIGUOUS", names[0], None,
                           f"有多个工作表可能是“{full}”：“{shown}”；请删除或改名多余的工作表，只保留一张后重新上传")
        else:
            found[key] = names[0]
            if rank >= 2:
                findings.notice("SHEET_HIDDEN", names[0], None,
                                f"工作表“{names[0]}”是隐藏的，因没有其他“{full}”工作表，已读取该隐藏工作表；请确认其内容")
            elif rank == 0:
                copies = [n for n in ranks[1] if n != names[0]]
                if copies:
                    findings.notice("SHEET_COPY_IGNORED", copies[0], None,
                                    f"已读取工作表“{names[0]}”；名称相近的“{'”“'.join(copies)}”未读取")
    return found
