"""The risk admin: alerts."""
