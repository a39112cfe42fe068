"""Q&A in a live room: viewers ask, others upvote, the host or a moderator answers or pins;
ordered by votes and kept with the show's replay."""
