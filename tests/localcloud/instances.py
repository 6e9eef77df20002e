"""A DB instance made through the RDS API, as the local-cloud tests make them."""

from __future__ import annotations

from typing import Any


def create_instance(rds: Any, ident: str, engine: str, username: str, **extra: Any) -> dict:
    """CreateDBInstance with a managed secret (``extra``: more API parameters); its description."""
    rds.create_db_instance(
        DBInstanceIdentifier=ident,
        Engine=engine,
        DBInstanceClass="db.t3.micro",
        MasterUsername=username,
        ManageMasterUserPassword=True,
        AllocatedStorage=20,
        **extra,
    )
    [db] = rds.describe_db_instances(DBInstanceIdentifier=ident)["DBInstances"]
    return db
