"""cohortbot: one platform-neutral core that runs a cohort-based course on Discord, Slack or a console."""

__version__ = "0.1.0"
