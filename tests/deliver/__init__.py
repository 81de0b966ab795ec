"""Tests of core.deliver, a file per module."""
