"""Upload answers are bounded: findings capped, the folder under its quota, old ones deleted."""
from __future__ import annotations

import os
import time

from app import upload_results


def _entry(store, name, size, age):
    folder = store / name
    folder.mkdir()
    (folder / "result.json").write_bytes(b"x" * size)
    then = time.time() - age
    os.utime(folder, (then, then))


def test_purge_deletes_expired_then_oldest_until_under_quota(tmp_path):
    _entry(tmp_path, "expired", 10, upload_results.TTL_SECONDS + 5)
    _entry(tmp_path, "old", 600, 300)
    _entry(tmp_path, "middle", 600, 200)
    _entry(tmp_path, "new", 600, 100)
    assert upload_results.purge(tmp_path, quota_bytes=1300) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["middle", "new"]


def test_findings_are_capped_errors_first_with_counts_of_all():
    findings = ([{"severity": "notice"}] * 6000) + ([{"severity": "error"}] * 10)
    kept, counts = upload_results.bounded(findings)
    assert len(kept) == upload_results.MAX_FINDINGS
    assert [f["severity"] for f in kept[:10]] == ["error"] * 10
    assert counts == {"error": 10, "warning": 0, "notice": 6000}
