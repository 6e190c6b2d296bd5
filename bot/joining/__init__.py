"""Joining and people: networks and their streets, memberships, invites, who someone is to the bot."""
