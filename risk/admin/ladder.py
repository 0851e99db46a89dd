"""The risk admin: ladder."""
