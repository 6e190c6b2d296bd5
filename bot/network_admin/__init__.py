"""Network administration: members, roles, a network's settings, statistics, export."""
