"""Scheduled work: the plan derived from the cohort file and the database, and the scheduler that runs it."""
