"""The Slack adapter: Bolt listeners and Block Kit builders that translate Slack to core calls."""
