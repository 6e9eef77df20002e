-- The AWS DMS source user (docs/dms.md): reads the binary log and the lab's database, nothing else.
-- Run by webapp.schema.dms_user after dms_user_login.mysql.sql (which sets @dms_account).
SET @dms_sql = CONCAT('GRANT REPLICATION CLIENT, REPLICATION SLAVE ON *.* TO ', @dms_account);
PREPARE dms_statement FROM @dms_sql;
EXECUTE dms_statement;
SET @dms_sql = CONCAT('GRANT SELECT ON `', REPLACE(@dms_database, '`', '``'), '`.* TO ', @dms_account);
PREPARE dms_statement FROM @dms_sql;
EXECUTE dms_statement;
DEALLOCATE PREPARE dms_statement;
SET @dms_sql = NULL, @dms_password = NULL;
