-- importdesk schema, version 14: a rollback stopped before its end (Esc or
-- quitting the console, Ctrl-C, SIGTERM, a terminal that hung up) leaves an
-- audit-log entry naming the cause. Nothing changed, but support reading the
-- log after a dropped SSH connection must see that a rollback was attempted
-- and why it did not happen.
INSERT INTO import_audit.audit_actions (action) VALUES ('rollback cancelled');
