"""Tests of the persistence layer (state/) against real SQLite files in tmp_path."""
