"""Conformance suite: checks any implementation of a spec in specs/ against the spec and its
lifecycle rules, with a verdict per requirement."""
