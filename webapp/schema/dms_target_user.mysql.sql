-- The AWS DMS target user (docs/dms.md): writes the lab's tables into the target database and
-- keeps DMS's own control tables (awsdms_control); no other database, no global privilege.
-- Run by webapp.schema.dms_user with @dms_user, @dms_password and @dms_database bound as
-- parameters from the DMS target secret: no name or password is ever spliced into this text.
SET @dms_account = CONCAT(QUOTE(@dms_user), '@', QUOTE('%'));
SET @dms_sql = CONCAT('CREATE USER IF NOT EXISTS ', @dms_account, ' IDENTIFIED BY ', QUOTE(@dms_password));
PREPARE dms_statement FROM @dms_sql;
EXECUTE dms_statement;
SET @dms_sql = CONCAT('ALTER USER ', @dms_account, ' IDENTIFIED BY ', QUOTE(@dms_password));
PREPARE dms_statement FROM @dms_sql;
EXECUTE dms_statement;
SET @dms_sql = CONCAT('GRANT ALTER, CREATE, DROP, INDEX, INSERT, UPDATE, DELETE, SELECT, CREATE TEMPORARY TABLES ON `', REPLACE(@dms_database, '`', '``'), '`.* TO ', @dms_account);
PREPARE dms_statement FROM @dms_sql;
EXECUTE dms_statement;
SET @dms_sql = CONCAT('GRANT ALL PRIVILEGES ON `awsdms_control`.* TO ', @dms_account);
PREPARE dms_statement FROM @dms_sql;
EXECUTE dms_statement;
DEALLOCATE PREPARE dms_statement;
SET @dms_sql = NULL, @dms_password = NULL;
