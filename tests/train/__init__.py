"""Tests of core.train, a file per module."""
