"""Tests of core.explore, a file per module."""
