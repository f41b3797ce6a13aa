"""Platform adapters: console, Discord and Slack. They translate; features live in cogs/."""
