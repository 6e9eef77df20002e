-- The AWS DMS user's login (docs/dms.md), run before its role's grants
-- (dms_source_user.mysql.sql, dms_target_user.mysql.sql) by webapp.schema.dms_user, with
-- @dms_user, @dms_password and @dms_database bound as parameters from the DMS secret: no name
-- or password is ever spliced into this text. A rerun sets the password again (rotation).
SET @dms_account = CONCAT(QUOTE(@dms_user), '@', QUOTE('%'));
SET @dms_sql = CONCAT('CREATE USER IF NOT EXISTS ', @dms_account, ' IDENTIFIED BY ', QUOTE(@dms_password));
PREPARE dms_statement FROM @dms_sql;
EXECUTE dms_statement;
SET @dms_sql = CONCAT('ALTER USER ', @dms_account, ' IDENTIFIED BY ', QUOTE(@dms_password));
PREPARE dms_statement FROM @dms_sql;
EXECUTE dms_statement;
