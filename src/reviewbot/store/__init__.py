"""Storage: the schema, database access and migrations."""
