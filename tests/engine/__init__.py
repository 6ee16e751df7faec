"""Tests of the pure exit engine (cockpit.engine)."""
