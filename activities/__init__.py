"""Ember's Temporal activities: the database work of triggers and scheduled actions."""
