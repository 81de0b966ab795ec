"""Tests of core.ingest, a file per module."""
