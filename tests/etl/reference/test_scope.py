"""The scope helper: who sees what (etl/reference/scope.py), and its SQL for each kind."""
import pytest
from psycopg import sql

from etl.reference import registry
from etl.reference.scope import Scope, scope_for
from tests.factories import hospital_code, hospital_row, write_registry


def test_a_hospital_user_sees_its_hospital_and_everyone_else_the_province():
    assert scope_for({"role": "hospital", "hospital_code": "H1"}) == Scope.hospital("H1")
    for role in ("reviewer", "admin", "leader"):
        assert scope_for({"role": role, "hospital_code": None}) == Scope.province()


def test_a_scope_is_either_a_province_or_one_hospital():
    with pytest.raises(ValueError):
        Scope("hospital")
    with pytest.raises(ValueError):
        Scope("province", "H1")
    with pytest.raises(ValueError):
        Scope("prefecture", "511100")         # not yet a kind


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
