"""The risk admin: guardian."""
