"""The only package with SQL: tables, database setup, queries and migrations."""
