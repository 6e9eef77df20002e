"""Detection: one changed value of any column type the lab and the sample use is found on both
engines, wherever the row lies (first, middle and last key range), and so is NULL against the
empty string, a row moved to another key range, and a change in a table without a key.

The tables are split into key ranges (MySQL: three ranges on three connections; PostgreSQL:
the database is set to scan in parallel workers), as big tables are.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator

import pytest

from reslab.checks import fingerprint, run_checks
from reslab.checks.model import TableFingerprint
from tests.checks.conftest import FACTORIES
from tests.checks.sample import Pair, execute
from tests.checks.test_cli import db_diff

SCHEMA = {
    "postgres": [
        "CREATE TABLE typed (id bigint PRIMARY KEY, small smallint, num integer, big bigint,"
        " amount numeric(10,2), ratio double precision, fl real, flag boolean,"
        " code char(32) NOT NULL, name varchar(255), note text, extra varchar(20),"
        " at_ts timestamp(6), at_tz timestamptz, day date)",
        "CREATE TABLE documents (id bigint PRIMARY KEY, doc json)",
        "CREATE TABLE loose (k integer, v text)",
    ],
    "mysql": [
        "CREATE TABLE typed (id bigint PRIMARY KEY, small smallint, num int, big bigint,"
        " amount decimal(10,2), ratio double, fl float, flag boolean,"
        " code char(32) NOT NULL, name varchar(255), note text, extra varchar(20),"
        " at_ts datetime(6), at_tz timestamp(3) NULL, day date)",
        "CREATE TABLE documents (id bigint PRIMARY KEY, doc json)",
        "CREATE TABLE loose (k int, v text)",
    ],
}

#: 3,000 rows with even keys 2..6000 (odd keys are free: a row can move into any range).
DATA = {
    "postgres": [
        "INSERT INTO typed SELECT 2 * g, g % 300, g, g::bigint * 1000003, g / 100.0, g / 7.0,"
        " g * 1000.5, g % 2 = 0, md5(g::text), 'name ' || g, 'note ' || g,"
        " CASE WHEN g % 2 = 0 THEN NULL ELSE '' END,"
        " timestamp '2026-01-01' + g * interval '1.000001 second',"
        " timestamptz '2026-01-01 00:00:00+00' + g * interval '1 minute',"
        " date '2020-01-01' + g FROM generate_series(1, 3000) g",
        "INSERT INTO documents SELECT 2 * g, json_build_object('n', g, 'tag', 't' || g)"
        " FROM generate_series(1, 3000) g",
        "INSERT INTO loose SELECT g % 5, 'v' || (g % 5) FROM generate_series(1, 20) g",
    ],
    "mysql": [
        "INSERT INTO typed SELECT 2 * seq, seq % 300, seq, seq * 1000003, seq / 100, seq / 7e0,"
        " seq * 1000.5, seq % 2 = 0, MD5(seq), CONCAT('name ', seq), CONCAT('note ', seq),"
        " IF(seq % 2 = 0, NULL, ''),"
        " TIMESTAMP'2026-01-01 00:00:00' + INTERVAL seq * 1000001 MICROSECOND,"
        " TIMESTAMP'2026-01-01 00:00:00' + INTERVAL seq MINUTE,"
        " DATE'2020-01-01' + INTERVAL seq DAY FROM seq_1_to_3000",
        "INSERT INTO documents SELECT 2 * seq, JSON_OBJECT('n', seq, 'tag', CONCAT('t', seq))"
        " FROM seq_1_to_3000",
        "INSERT INTO loose SELECT seq % 5, CONCAT('v', seq % 5) FROM seq_1_to_20",
    ],
}

#: PostgreSQL: scan every table in parallel workers, however small (both databases).
PARALLEL = (
    "parallel_setup_cost = 0",
    "parallel_tuple_cost = 0",
    "min_parallel_table_scan_size = 0",
    "max_parallel_workers_per_gather = 2",
)

#: A row in the first, a middle and the last of the three key ranges (keys 2..6000).
WHERE = {"first": 2, "middle": 3000, "last": 6000}

#: column -> the smallest change of its type, per engine (one value, one row).
CHANGES: dict[str, dict[str, str]] = {
    "small": {"postgres": "small + 1", "mysql": "small + 1"},
    "num": {"postgres": "num + 1", "mysql": "num + 1"},
    "big": {"postgres": "big + 1", "mysql": "big + 1"},
    "amount": {"postgres": "amount + 0.01", "mysql": "amount + 0.01"},
    "ratio": {"postgres": "ratio + 1e-12", "mysql": "ratio + 1e-12"},
    # a float's sixth significant digit: its short text form would hide this change
    "fl": {"postgres": "fl + 0.5", "mysql": "fl + 0.5"},
    "flag": {"postgres": "NOT flag", "mysql": "NOT flag"},
    "code": {"postgres": "'z' || substr(code, 2)", "mysql": "CONCAT('z', SUBSTR(code, 2))"},
    "name": {"postgres": "name || ' '", "mysql": "CONCAT(name, ' ')"},  # a trailing space
    "note": {"postgres": "upper(note)", "mysql": "UPPER(note)"},
    "at_ts": {
        "postgres": "at_ts + interval '1 microsecond'",
        "mysql": "at_ts + INTERVAL 1 MICROSECOND",
    },
    "at_tz": {
        "postgres": "at_tz + interval '1 millisecond'",
        "mysql": "at_tz + INTERVAL 1000 MICROSECOND",
    },
    "day": {"postgres": "day + 1", "mysql": "day + INTERVAL 1 DAY"},
}
#: Put a changed row of ``typed`` back from the ``kept`` copy.
RESTORE = {
    "postgres": "UPDATE typed t SET {col} = k.{col} FROM kept k WHERE t.id = k.id",
    "mysql": "UPDATE typed t JOIN kept k ON t.id = k.id SET t.{col} = k.{col}",
}


@pytest.fixture(params=sorted(FACTORIES))
def typed_pair(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pair]:
    """Identical source and target with the typed tables; big-table splitting for 3,000 rows."""
    engine = request.param
    module = importlib.import_module("reslab.checks.fingerprint")  # the package re-exports
    monkeypatch.setattr(module, "MIN_SPAN", 10)  # a function of the same name
    with FACTORIES[engine]("reslab_dsrc") as source, FACTORIES[engine]("reslab_dtgt") as target:
        for url in (source, target):
            execute(url, *SCHEMA[engine])
            if engine == "postgres":
                name = url.rsplit("/", 1)[1]
                execute(url, *(f'ALTER DATABASE "{name}" SET {s}' for s in PARALLEL))
        execute(source, *DATA[engine])
        execute(target, *DATA[engine])  # the same generators: the same rows
        yield Pair(engine, source, target)


def typed_of(url: str) -> TableFingerprint:
    return fingerprint(url, workers=3).tables["typed"]


def data_of(tables: dict[str, TableFingerprint]) -> dict[str, tuple[object, ...]]:
    """What the data checks compare of each table (MySQL's schema is the database's name)."""
    return {k: (t.columns, t.indexes, t.rows, t.checksum, t.algorithm) for k, t in tables.items()}


def test_the_tables_are_read_in_ranges(typed_pair: Pair) -> None:
    if typed_pair.engine == "postgres":
        plan = execute(typed_pair.target, "EXPLAIN SELECT count(*) FROM typed")
        assert any("Parallel Seq Scan" in row[0] for row in plan)
    else:
        from reslab.checks.engines import DIALECTS

        assert DIALECTS["mysql"].chunk_key(typed_of(typed_pair.target)) == "id"
    assert data_of(fingerprint(typed_pair.target, workers=3).tables) == data_of(
        fingerprint(typed_pair.source, workers=1).tables
    )


def test_one_changed_value_of_any_type_is_found_in_every_key_range(typed_pair: Pair) -> None:
    engine, target = typed_pair.engine, typed_pair.target
    expected = typed_of(typed_pair.source)
    assert expected.algorithm in ("pg-colhash64mix-sum", "mysql-crc32mix-sum")
    execute(target, "CREATE TABLE kept AS SELECT * FROM typed WHERE id IN (2, 3000, 6000)")
    missed = []
    for column, change in CHANGES.items():
        for where, key in WHERE.items():
            execute(target, f"UPDATE typed SET {column} = {change[engine]} WHERE id = {key}")
            if typed_of(target).checksum == expected.checksum:
                missed.append(f"{column} in the {where} range")
            execute(target, RESTORE[engine].format(col=column))
            assert typed_of(target).checksum == expected.checksum, f"{column} not put back"
    assert not missed


def test_null_and_empty_string_differ_in_every_key_range(typed_pair: Pair) -> None:
    expected = typed_of(typed_pair.source).checksum
    for where, key in WHERE.items():
        # extra is NULL on keys divisible by 4 and '' on the others
        was_null = key % 4 == 0
        swapped = "''" if was_null else "NULL"
        execute(typed_pair.target, f"UPDATE typed SET extra = {swapped} WHERE id = {key}")
        assert typed_of(typed_pair.target).checksum != expected, where
        back = "NULL" if was_null else "''"
        execute(typed_pair.target, f"UPDATE typed SET extra = {back} WHERE id = {key}")
    assert typed_of(typed_pair.target).checksum == expected


def test_a_row_moved_to_another_key_range_is_found(typed_pair: Pair) -> None:
    # the same row, physically elsewhere: nothing changed
    execute(
        typed_pair.target,
        "CREATE TABLE k AS SELECT * FROM typed WHERE id = 10",
        "DELETE FROM typed WHERE id = 10",
        "INSERT INTO typed SELECT * FROM k",
        "DROP TABLE k",
    )
    assert run_checks(typed_pair.source, typed_pair.target, workers=3).verdict == "pass"
    # its key moved from the first range to the last: found, and only by the checksum
    execute(typed_pair.target, "UPDATE typed SET id = 5001 WHERE id = 10")
    report = run_checks(typed_pair.source, typed_pair.target, workers=3)
    assert {c.name for c in report.failures} == {"data.checksum[typed]"}


def test_a_changed_json_document_is_found(typed_pair: Pair) -> None:
    expected = fingerprint(typed_pair.source, workers=3).tables["documents"]
    execute(
        typed_pair.target,
        """UPDATE documents SET doc = '{"n": 3000, "tag": "T3000"}' WHERE id = 6000""",
    )
    got = fingerprint(typed_pair.target, workers=3).tables["documents"]
    assert (got.rows, got.algorithm) == (expected.rows, expected.algorithm)
    assert got.checksum != expected.checksum


def test_tables_without_a_key_are_compared_whole(typed_pair: Pair) -> None:
    def loose(url: str) -> TableFingerprint:
        return fingerprint(url, workers=3).tables["loose"]

    expected = loose(typed_pair.source)
    one_row = {
        "postgres": "UPDATE loose SET v = 'v2' WHERE ctid = (SELECT min(ctid) FROM loose"
        " WHERE k = 1)",
        "mysql": "UPDATE loose SET v = 'v2' WHERE k = 1 LIMIT 1",
    }
    execute(typed_pair.target, one_row[typed_pair.engine])  # one value of one of 4 equal rows
    assert loose(typed_pair.target).checksum != expected.checksum
    execute(typed_pair.target, "UPDATE loose SET v = 'v1' WHERE k = 1")
    assert loose(typed_pair.target).checksum == expected.checksum
    # one of two equal rows becomes a copy of another row: same count, other multiset
    copy_row = {
        "postgres": "UPDATE loose SET k = 2, v = 'v2' WHERE ctid = (SELECT min(ctid)"
        " FROM loose WHERE k = 1)",
        "mysql": "UPDATE loose SET k = 2, v = 'v2' WHERE k = 1 LIMIT 1",
    }
    execute(typed_pair.target, copy_row[typed_pair.engine])
    changed = loose(typed_pair.target)
    assert changed.rows == expected.rows and changed.checksum != expected.checksum


def test_db_diff_exits_1_naming_the_table_with_one_changed_value(typed_pair: Pair) -> None:
    assert db_diff(typed_pair.source, typed_pair.target).returncode == 0
    execute(typed_pair.target, "UPDATE typed SET amount = amount + 0.01 WHERE id = 3000")
    result = db_diff(typed_pair.source, typed_pair.target)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "data.checksum[typed]" in result.stdout
    assert "The content of `typed` differs" in result.stdout  # why, in words
