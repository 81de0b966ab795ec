"""Tests of core.prepare, a file per module."""
