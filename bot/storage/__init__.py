"""Storage: one aiosqlite database (WAL, foreign keys, numbered migrations) and a repository per aggregate."""
