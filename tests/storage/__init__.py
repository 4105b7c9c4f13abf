"""The storage: opening, URLs, the SQLite file, the connection pool, the hot statements."""
