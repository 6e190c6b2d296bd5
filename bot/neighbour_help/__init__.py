"""Help between neighbours: asking, offering, taking up, writing to each other, closing."""
