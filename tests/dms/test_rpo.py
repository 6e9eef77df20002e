"""Counting the rows a failover lost (reslab.checks.rpo) with db-diff's in-database checksums."""

from __future__ import annotations

from reslab.checks.rpo import count_lost_rows
from reslab.dburl import DbTarget, connect
from tests.dms.writer import scalar, write_hits


def _copy_hits(source: DbTarget, target: DbTarget, below_id: int) -> None:
    with connect(source) as src, connect(target) as dst:
        with src.cursor() as cur:
            cur.execute("SELECT * FROM hits WHERE id < %s", (below_id,))
            rows = cur.fetchall()
        with dst.cursor() as cur:
            cur.executemany("INSERT INTO hits VALUES (%s, %s, %s, %s, %s, %s, %s)", rows)


def test_a_target_missing_the_last_rows_and_one_changed_row_counts_them(
    mysql_pair: tuple[DbTarget, DbTarget],
) -> None:
    primary, target = mysql_pair
    with connect(primary) as conn:
        write_hits(conn, 500)
        top = scalar(conn, "SELECT MAX(id) FROM hits")
    _copy_hits(primary, target, top - 6)  # the last 7 rows never reached the target
    with connect(target) as conn, conn.cursor() as cur:
        cur.execute("UPDATE hits SET user_agent = 'changed' WHERE id = %s", (top - 100,))
    lost = count_lost_rows(primary.url(), target.url())
    assert (lost.primary_rows, lost.target_rows) == (500, 493)
    assert lost.lost == 8
    assert lost.lost_keys == [top - 100, *range(top - 6, top + 1)]
    assert lost.queries < 200  # ranges halved, not every row compared


def test_identical_tables_lose_nothing(mysql_pair: tuple[DbTarget, DbTarget]) -> None:
    primary, target = mysql_pair
    with connect(primary) as conn:
        write_hits(conn, 50)
    _copy_hits(primary, target, 10**9)
    lost = count_lost_rows(primary.url(), target.url())
    assert (lost.lost, lost.lost_keys, lost.queries) == (0, [], 1)
