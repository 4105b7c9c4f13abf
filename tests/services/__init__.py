"""The services (the rules) on a temp database: SQLite, and PostgreSQL when the run has one."""
