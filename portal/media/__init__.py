"""Media work on stored videos: probing for facts, posters (and, next, playable copies); run by jobs only."""
