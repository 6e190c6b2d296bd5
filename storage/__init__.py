"""Storage: the directory store (what spans networks) and one small store per network."""
