"""The platform-neutral core: commands, people, roles, messages, errors and the clock."""
