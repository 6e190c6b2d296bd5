"""Privacy: what Buurtbot keeps about someone (my data) and forgetting them."""
