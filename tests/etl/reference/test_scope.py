"""The scope helper: who sees what (etl/reference/scope.py), and its SQL for each kind."""
import pytest
from psycopg import sql

from etl.reference import registry
from etl.reference.scope import Scope, area_name, scope_for
from tests.factories import hospital_code, hospital_row, write_registry


def test_a_hospital_user_sees_its_hospital_and_everyone_else_the_province():
    assert scope_for({"role": "hospital", "hospital_code": "H1"}) == Scope.hospital("H1")
    for role in ("reviewer", "admin", "leader"):
        assert scope_for({"role": role, "hospital_code": None, "region_code": None}) == Scope.province()
    for role in ("prefecture", "prefecture-leader"):
        assert scope_for({"role": role, "hospital_code": None, "region_code": "511100"}) == \
            Scope.prefecture("511100")


def test_a_scope_is_either_a_province_or_one_hospital():
    with pytest.raises(ValueError):
        Scope("hospital")
    with pytest.raises(ValueError):
        Scope("province", "H1")
    with pytest.raises(ValueError):
        Scope("prefecture", "511100")         # a prefecture is a region, not a hospital
    with pytest.raises(ValueError):
        Scope("prefecture")
    with pytest.raises(ValueError):
        Scope("county", region_code="511102")


def test_province_sql_is_true_without_parameters(conn):
    cond, params = Scope.province().clause("h.code")
    assert cond.as_string(conn) == "true" and params == {}


def test_hospital_sql_compares_the_quoted_column_with_a_parameter(conn):
    cond, params = Scope.hospital("H1").clause("h.code")
    assert cond.as_string(conn) == '"h"."code" = %(scope_hospital)s'
    assert params == {"scope_hospital": "H1"}
    # A column name is an identifier, quoted whole: never text pasted into the query.
    cond, _ = Scope.hospital("H1").clause('code" OR true --')
    assert cond.as_string(conn) == '"code"" OR true --" = %(scope_hospital)s'


def test_each_kind_selects_its_rows(conn, tmp_path):
    registry.load_hospitals(conn, write_registry(tmp_path / "reg.xlsx", [hospital_row(1), hospital_row(2)]))

    def codes(scope):
        cond, params = scope.clause("h.code")
        query = sql.SQL("SELECT h.code FROM hospital h WHERE {} ORDER BY h.code").format(cond)
        return [r["code"] for r in conn.execute(query, params)]

    assert codes(Scope.province()) == sorted([hospital_code(1), hospital_code(2)])
    assert codes(Scope.hospital(hospital_code(2))) == [hospital_code(2)]
    assert codes(Scope.hospital("' OR '1'='1")) == []       # a code is a value, never SQL
    # A third hospital in 成都 (510104): the 乐山 scope (511100) keeps the first two only.
    registry.load_hospitals(conn, write_registry(tmp_path / "reg3.xlsx", [hospital_row(3, county="510104")]))
    assert codes(Scope.prefecture("511100")) == sorted([hospital_code(1), hospital_code(2)])
    assert codes(Scope.prefecture("510100")) == [hospital_code(3, "510104")]
    assert codes(Scope.prefecture("' OR '1'='1")) == []


def test_a_prefecture_user_is_bound_to_a_registered_prefecture(conn):
    from etl.common.errors import HemonError
    from etl.demo.province import load_regions
    from etl.reference.accounts import create_user, get_user
    registry.load_regions(conn, load_regions())
    with pytest.raises(HemonError, match="必须指定所属市州"):
        create_user(conn, "cd", "Chengdu-pass-2026", "prefecture")
    with pytest.raises(HemonError, match="不是本省的市州"):
        create_user(conn, "cd", "Chengdu-pass-2026", "prefecture", region_code="510104")   # a county
    with pytest.raises(HemonError, match="其他角色不能指定"):
        create_user(conn, "cd", "Chengdu-pass-2026", "reviewer", region_code="510100")
    user = get_user(conn, create_user(conn, "cd", "Chengdu-pass-2026", "prefecture-leader", region_code="510100"))
    assert scope_for(user) == Scope.prefecture("510100")


def test_regions_of_a_scope(conn):
    """A prefecture covers itself and its counties; the province every region; a hospital none."""
    from etl.demo.province import load_regions
    registry.load_regions(conn, load_regions())

    def regions(scope):
        cond, params = scope.region_clause("r.code")
        query = sql.SQL("SELECT r.code FROM region r WHERE {} ORDER BY r.code").format(cond)
        return [row["code"] for row in conn.execute(query, params)]

    leshan = regions(Scope.prefecture("511100"))
    assert leshan[0] == "511100" and "511102" in leshan and all(c.startswith("5111") for c in leshan)
    assert len(regions(Scope.province())) == conn.execute("SELECT count(*) AS n FROM region").fetchone()["n"]
    assert regions(Scope.hospital("H1")) == []
    assert Scope.prefecture("511100").covers("511102") and not Scope.prefecture("511100").covers("510104")
    assert Scope.province().covers("510104") and not Scope.hospital("H1").covers("511102")
    assert area_name(conn, Scope.prefecture("510100")) == "成都市" and area_name(conn, Scope.province()) == "四川省"
