"""Tests of the database layer: migrations and schema."""
