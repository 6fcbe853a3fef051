"""Attribution's two plans (a key lookup per item for an upload, a hash join of the version for
many items) give the same rollups, row for row."""
from etl.attribution import mapping, rollup
from tests.factories import write_mapping


def test_by_key_and_by_hash_attribute_alike(conn, tmp_path, load_period):
    mapping.load_mapping(conn, write_mapping(tmp_path / "m.xlsx"), "口径", "2026-01")
    load_period("2026-10")
    ids = [r["id"] for r in conn.execute("SELECT id FROM return ORDER BY id")]

    def rollups():
        return conn.execute("""SELECT return_id, system, setting, category, amount, mapping_version_id
                               FROM attribution_total ORDER BY 1, 2, 3, 4""").fetchall()

    rollup.attribute(conn, ids, items=1)                              # by key
    by_key = rollups()
    rollup.attribute(conn, ids, items=rollup.BY_KEY_MAX_ITEMS + 1)    # by hash
    assert rollups() == by_key and len(by_key) > 10
    assert {r["category"] for r in by_key} - {"未归集"}                  # the mapping was used
    rollup.attribute(conn, ids)                                       # counted: the same again
    assert rollups() == by_key
