"""Withdrawing a bulletin version (issue 17): kept in the archive and shown to admins as 已撤回,
gone for leaders and reviewers (the list, the page, the Word/PDF links they already have),
audited; the period's previous version is the latest again."""
import re

import pytest

from reports.bulletin import archive


@pytest.fixture()
def two_versions_published(conn, october_filed):
    first = archive.publish(conn, "2026-10")
    second = archive.publish(conn, "2026-10")
    return first["id"], second["id"]


def _withdraw(client, auth, bulletin_id, reason):
    token = auth.csrf(f"/bulletins/{bulletin_id}")
    return client.post(f"/bulletins/{bulletin_id}/withdraw", data={"csrf_token": token, "reason": reason})


def test_a_withdrawn_version_is_hidden_from_leaders_and_the_previous_one_is_latest(client, auth, conn,
                                                                                 two_versions_published):
    first, second = two_versions_published
    auth.login("admin")
    refused = _withdraw(client, auth, second, "   ")
    assert refused.status_code == 302
    assert "请填写撤回原因" in client.get(refused.headers["Location"]).get_data(as_text=True)
    assert conn.execute("SELECT withdrawn_at FROM bulletin WHERE id = %s", (second,)).fetchone()["withdrawn_at"] is None

    done = _withdraw(client, auth, second, "报送不足，数据不完整")
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "已撤回" in page and "报送不足，数据不完整" in page and "撤回此版本" not in page
    listing = client.get("/bulletins/").get_data(as_text=True)
    row = re.search(rf'<tr data-bulletin="{second}"[^>]*>(.*?)</tr>', listing, re.S)
    assert row and "已撤回" in row.group(1) and 'data-withdrawn="1"' in row.group(0)
    assert client.get(f"/bulletins/{second}/files/bulletin.pdf").status_code == 200   # admins keep the archive
    again = _withdraw(client, auth, second, "再次撤回")
    assert "已撤回" in client.get(again.headers["Location"]).get_data(as_text=True)
    entries = conn.execute("SELECT actor_name, target, after FROM audit_log WHERE action = 'bulletin.withdraw'").fetchall()
    assert [(e["actor_name"], e["target"], e["after"]["reason"]) for e in entries] == [
        ("admin", f"bulletin:{second}", "报送不足，数据不完整")]
    assert archive.latest(conn, "2026-10")["id"] == first
    auth.logout()

    for role in ("leader", "reviewer"):
        auth.login(role)
        listing = client.get("/bulletins/").get_data(as_text=True)
        assert f'data-bulletin="{first}"' in listing and f'data-bulletin="{second}"' not in listing
        first_row = re.search(rf'<tr data-bulletin="{first}"[^>]*>(.*?)</tr>', listing, re.S).group(0)
        assert "superseded" not in first_row and "已有新版本" not in first_row   # the latest again
        for path in (f"/bulletins/{second}", f"/bulletins/{second}/files/bulletin.docx",
                     f"/bulletins/{second}/files/bulletin.pdf"):
            assert client.get(path).status_code == 404, (role, path)
        assert client.get(f"/bulletins/{first}").status_code == 200
        assert client.post(f"/bulletins/{first}/withdraw",
                           data={"csrf_token": auth.csrf("/bulletins/"), "reason": "x"}).status_code == 403
        client.post("/auth/logout", data={"csrf_token": auth.csrf("/bulletins/")})
    assert conn.execute("SELECT count(*) AS n FROM bulletin WHERE withdrawn_at IS NOT NULL").fetchone()["n"] == 1


def test_withdraw_refuses_a_reason_too_long_or_a_missing_bulletin(conn, two_versions_published):
    from etl.common.errors import HemonError
    first, _ = two_versions_published
    with pytest.raises(HemonError, match="不超过"):
        archive.withdraw(conn, first, "长" * 501, None)
    with pytest.raises(HemonError, match="没有这份月报"):
        archive.withdraw(conn, 999_999, "原因", None)
    assert archive.latest(conn, "2026-10")["version"] == 2


def test_a_withdrawn_version_is_never_emailed(conn, two_versions_published, smtp_server):
    from etl.common.mail import Smtp
    from reports.bulletin import delivery
    _, second = two_versions_published
    archive.withdraw(conn, second, "数据有误", None)
    smtp = Smtp("127.0.0.1", smtp_server.server_address[1], "province@example.org")
    assert delivery.deliver(conn, second, smtp, ["director@example.org"]) is False
    assert smtp_server.messages == []
    assert conn.execute("SELECT delivered_at FROM bulletin WHERE id = %s", (second,)).fetchone()["delivered_at"] is None
