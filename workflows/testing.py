"""Pytest plugin for applications testing their Ember triggers (fixtures below)."""
