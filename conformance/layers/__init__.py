"""The three layers of checks: schema, lifecycle and security."""
