"""Tests of core.evaluate, a file per module."""
