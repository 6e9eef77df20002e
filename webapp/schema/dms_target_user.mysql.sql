-- The AWS DMS target user (docs/dms.md): writes the lab's tables into the target database and
-- keeps DMS's own control tables (awsdms_control); no other database, no global privilege.
-- Run by webapp.schema.dms_user after dms_user_login.mysql.sql (which sets @dms_account).
SET @dms_sql = CONCAT('GRANT ALTER, CREATE, DROP, INDEX, INSERT, UPDATE, DELETE, SELECT, CREATE TEMPORARY TABLES ON `', REPLACE(@dms_database, '`', '``'), '`.* TO ', @dms_account);
PREPARE dms_statement FROM @dms_sql;
EXECUTE dms_statement;
SET @dms_sql = CONCAT('GRANT ALL PRIVILEGES ON `awsdms_control`.* TO ', @dms_account);
PREPARE dms_statement FROM @dms_sql;
EXECUTE dms_statement;
DEALLOCATE PREPARE dms_statement;
SET @dms_sql = NULL, @dms_password = NULL;
