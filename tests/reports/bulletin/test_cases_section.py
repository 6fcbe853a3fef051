"""The bulletin's 风险处置 section lists the month's new, overdue and closed cases, in the
content, the blocks and the Word document."""
import io

from docx import Document

from etl.cases import lifecycle
from etl.reference.accounts import create_user, get_user
from etl.reference.scope import Scope
from reports.bulletin.build import build
from reports.bulletin.layout import blocks


def test_the_bulletin_lists_new_overdue_and_closed_cases(conn, upload_return):
    reviewer = get_user(conn, create_user(conn, "rev", "password-123", "reviewer"))
    upload_return(2, "2026-06", "debt")
    debt = conn.execute("SELECT id FROM risk_case").fetchone()["id"]
    conn.execute("UPDATE risk_case SET status = 'in_progress', accepted_at = '2026-06-20' WHERE id = %s", (debt,))
    for period in ("2026-07", "2026-08"):
        upload_return(2, period)
        upload_return(3, period)
        lifecycle.add_note(conn, debt, None, Scope.province(), period, "逾期债务已清偿完毕")
    upload_return(2, "2026-09")
    upload_return(1, "2026-09", "deficit")
    upload_return(3, "2026-09", "wages")
    lifecycle.add_note(conn, debt, None, Scope.province(), "2026-09", "逾期债务已清偿完毕")
    lifecycle.close(conn, debt, reviewer, Scope.province(), "同意销号")
    conn.execute("UPDATE risk_case SET plan_due = current_date - 1 WHERE domain = 'wages'")

    content = build(conn, "2026-09").content
    cases = content["cases"]
    assert sorted((h["name"], h["domain"]) for h in cases["new"]) == [("测试康宁医院1", "收不抵支"),
                                                                      ("测试康宁医院3", "拖欠薪酬")]
    assert [(h["name"], h["domain"]) for h in cases["overdue"]] == [("测试康宁医院3", "拖欠薪酬")]
    assert "整改方案逾期未提交" in cases["overdue"][0]["reason"]
    assert [(h["name"], h["domain"]) for h in cases["closed"]] == [("测试康宁医院2", "长期债务")]
    assert cases["in_hand"] == 2
    drawn = blocks(content)
    heading = next(i for i, b in enumerate(drawn) if b["kind"] == "heading" and b["text"].endswith("风险处置"))
    sentence = drawn[heading + 1]["text"]
    assert "在办风险处置事项2个" in sentence and "新立案2个，逾期1个，销号1个" in sentence
    # The older layout without the section still draws (snapshots archived before it).
    assert not any(b.get("text", "").endswith("风险处置") for b in blocks({k: v for k, v in content.items()
                                                                         if k != "cases"}))
    words = "\n".join(p.text for p in Document(io.BytesIO(build(conn, "2026-09").files["bulletin.docx"][1])).paragraphs)
    assert "风险处置" in words and "本月销号1个" in words
