"""Test-only features and helpers shared by several test modules."""
