-- The AWS DMS source user (docs/dms.md): reads the binary log and the lab's database, nothing else.
-- Run by webapp.schema.dms_user with @dms_user, @dms_password and @dms_database bound as
-- parameters from the DMS secret: no name or password is ever spliced into this text.
SET @dms_account = CONCAT(QUOTE(@dms_user), '@', QUOTE('%'));
SET @dms_sql = CONCAT('CREATE USER IF NOT EXISTS ', @dms_account, ' IDENTIFIED BY ', QUOTE(@dms_password));
PREPARE dms_statement FROM @dms_sql;
EXECUTE dms_statement;
SET @dms_sql = CONCAT('ALTER USER ', @dms_account, ' IDENTIFIED BY ', QUOTE(@dms_password));
PREPARE dms_statement FROM @dms_sql;
EXECUTE dms_statement;
SET @dms_sql = CONCAT('GRANT REPLICATION CLIENT, REPLICATION SLAVE ON *.* TO ', @dms_account);
PREPARE dms_statement FROM @dms_sql;
EXECUTE dms_statement;
SET @dms_sql = CONCAT('GRANT SELECT ON `', REPLACE(@dms_database, '`', '``'), '`.* TO ', @dms_account);
PREPARE dms_statement FROM @dms_sql;
EXECUTE dms_statement;
DEALLOCATE PREPARE dms_statement;
SET @dms_sql = NULL, @dms_password = NULL;
