"""Every word a user reads: the templates' renderer, and Dutch (and English) dates and times."""
