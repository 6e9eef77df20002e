"""A full run with MariaDB backing the instances (mysql://root@127.0.0.1:3306)."""

from __future__ import annotations

from tests.restore.lab import RestoreLab, SlackServer
from tests.restore.test_restore_runs import full_run_passes


def test_full_run_passes_mariadb(mysql_lab: RestoreLab, slack: SlackServer) -> None:
    full_run_passes(mysql_lab, "mysql", slack)
