"""The bulletin archive: versions, snapshot and files kept together, all or nothing; the command."""
from __future__ import annotations

import io

import docx
import psycopg
import pypdf
import pytest

from etl.common.errors import HemonError
from etl.reference.accounts import create_user
from reports.bulletin import archive


@pytest.fixture()
def province(load_period):
    load_period()
    return "2026-10"


def counts(conn) -> dict:
    return conn.execute("""SELECT (SELECT count(*) FROM bulletin) AS bulletins,
                                  (SELECT count(*) FROM bulletin_file) AS files,
                                  (SELECT count(*) FROM audit_log WHERE action = 'bulletin.publish') AS audited""").fetchone()


def test_publishing_again_makes_a_new_version_with_its_snapshot_and_files(conn, province, tmp_path):
    user_id = create_user(conn, "admin", "password-123", "admin")
    first = archive.publish(conn, province)
    second = archive.publish(conn, province, user={"id": user_id, "username": "admin"})
    assert (first["version"], second["version"]) == (1, 2)
    assert first["trigger"] == second["trigger"] == "manual"
    assert (first["generated_by"], second["generated_by"], second["generated_by_name"]) == (None, user_id, "admin")

    names = {f["name"] for f in second["files"]}
    assert {"bulletin.docx", "bulletin.pdf"} <= names
    assert all(f["size"] > 0 and f["media_type"] for f in second["files"])
    # The snapshot is the bulletin's content as written, with the inputs it used.
    assert second["snapshot"]["period"] == province and "inputs" in second["snapshot"]

    listed = archive.listing(conn)
    assert [b["version"] for b in listed] == [2, 1]                       # newest first
    assert "snapshot" not in listed[0] and all("content" not in f for f in listed[0]["files"])
    assert archive.listing(conn, "2026-09") == []
    assert archive.latest(conn, province)["id"] == second["id"]
    assert archive.latest(conn, "2026-09") is None and archive.get(conn, 999_999) is None

    media_type, content = archive.file(conn, second["id"], "bulletin.docx")
    assert media_type.endswith("wordprocessingml.document") and content[:2] == b"PK"
    assert archive.file(conn, second["id"], "nothing.txt") is None
    media_type, content = archive.file(conn, first["id"], "bulletin.pdf")
    assert media_type == "application/pdf" and content.startswith(b"%PDF")

    log = conn.execute("SELECT actor_name, target, after FROM audit_log WHERE action = 'bulletin.publish' ORDER BY id").fetchall()
    assert [(e["actor_name"], e["target"], e["after"]["version"]) for e in log] == \
        [("system", f"bulletin:{first['id']}", 1), ("admin", f"bulletin:{second['id']}", 2)]

    paths = archive.write_files(conn, second["id"], tmp_path / "out" / "deep")
    assert [p.name for p in paths] == [f"经济运行监测月报-{province}-v2.docx", f"经济运行监测月报-{province}-v2.pdf"]
    assert sorted(p.name for p in (tmp_path / "out" / "deep").iterdir()) == sorted(p.name for p in paths)
    assert paths[1].read_bytes() == archive.file(conn, second["id"], "bulletin.pdf")[1]
    assert archive.download_name(second, "map.png") == f"经济运行监测月报-{province}-v2-map.png"


def test_only_one_scheduled_bulletin_per_period(conn, province):
    scheduled = archive.publish(conn, province, trigger="schedule")
    assert (scheduled["version"], scheduled["trigger"]) == (1, "schedule")
    with pytest.raises(archive.AlreadyScheduled):
        archive.publish(conn, province, trigger="schedule")
    # The index holds even against a writer that skips the check.
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute("INSERT INTO bulletin (period, version, trigger, snapshot) VALUES (%s, 9, 'schedule', '{}')",
                     (province,))
    assert counts(conn)["bulletins"] == 1


def test_a_failed_publish_leaves_nothing_behind(app, conn, province):
    first = archive.publish(conn, province)
    before = counts(conn)

    # Refused by the bulletin itself: a period never opened, a malformed one.
    with pytest.raises(HemonError, match="尚未开放"):
        archive.publish(conn, "2026-09")
    with pytest.raises(HemonError, match="YYYY-MM"):
        archive.publish(conn, "2026-13")
    assert counts(conn) == before

    # A build cut off by the statement timeout (it waits on ratings another session is rewriting).
    with app.extensions["hemon_db"].connect() as rescoring, rescoring.transaction():
        rescoring.execute("LOCK TABLE rating IN ACCESS EXCLUSIVE MODE")
        conn.execute("SET statement_timeout = 300")
        try:
            with pytest.raises(psycopg.errors.QueryCanceled):
                archive.publish(conn, province)
        finally:
            conn.execute("RESET statement_timeout")
    assert counts(conn) == before

    # The database refuses the files after the bulletin row is written: the row goes too.
    conn.execute("ALTER TABLE bulletin_file ADD CONSTRAINT test_refuse CHECK (octet_length(content) < 0) NOT VALID")
    try:
        with pytest.raises(psycopg.errors.CheckViolation):
            archive.publish(conn, province)
    finally:
        conn.execute("ALTER TABLE bulletin_file DROP CONSTRAINT test_refuse")
    assert counts(conn) == before
    assert [b["id"] for b in archive.listing(conn)] == [first["id"]]
    assert archive.file(conn, first["id"], "bulletin.docx") is not None


def test_bulletin_command_writes_word_and_pdf(runner, conn, province, tmp_path):
    # Where the files cannot be written, the bulletin is archived all the same, and it says so.
    blocker = tmp_path / "occupied"
    blocker.write_text("x")
    failed = runner.invoke(args=["bulletin", "--period", province, "--out", str(blocker)])
    assert failed.exit_code == 1 and failed.output.startswith("错误：") and "已归档" in failed.output
    assert "Traceback" not in failed.output and counts(conn)["bulletins"] == 1

    out = tmp_path / "月报"
    result = runner.invoke(args=["bulletin", "--period", province, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "第 2 版" in result.output
    word, pdf = out / f"经济运行监测月报-{province}-v2.docx", out / f"经济运行监测月报-{province}-v2.pdf"
    assert str(word) in result.output and str(pdf) in result.output
    document = docx.Document(io.BytesIO(word.read_bytes()))
    assert any(p.text.strip() for p in document.paragraphs)
    assert len(pypdf.PdfReader(pdf).pages) >= 1


@pytest.mark.parametrize("args, message", [
    (["--period", "2026-13"], "YYYY-MM"),
    (["--period", "2026-09"], "尚未开放"),
    (["--period", "2026-10", "--email"], "SMTP"),
])
def test_bulletin_command_errors_are_one_line(runner, conn, province, tmp_path, args, message):
    result = runner.invoke(args=["bulletin", *args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert result.output.startswith("错误：") and message in result.output
    assert "Traceback" not in result.output
    assert counts(conn)["bulletins"] == 0 and not (tmp_path / "out").exists()


def test_publishes_queue_and_each_sees_the_versions_before_it(app, conn):
    """A publish waiting on another reads, once it may go on, a snapshot that includes it."""
    import threading
    db = app.extensions["hemon_db"]
    first_holds_lock, seen = threading.Event(), []

    def second():
        first_holds_lock.wait(10)
        with db.connect() as other, archive._publishing(other):
            seen.append(other.execute("SELECT coalesce(max(version), 0) AS v FROM bulletin").fetchone()["v"])
            seen.append(other.execute("SHOW transaction_isolation").fetchone()["transaction_isolation"])

    thread = threading.Thread(target=second)
    thread.start()
    with archive._publishing(conn):
        conn.execute("INSERT INTO bulletin (period, version, trigger, snapshot) VALUES ('2026-10', 1, 'manual', '{}')")
        first_holds_lock.set()
        thread.join(0.5)
        assert thread.is_alive()                                         # waiting for this one to commit
    thread.join(10)
    assert seen == [1, "repeatable read"]
