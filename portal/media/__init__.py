"""Media work on stored videos: probing for facts (and, next, posters and playable copies); run by jobs only."""
