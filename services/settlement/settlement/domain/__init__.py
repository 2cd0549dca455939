"""Settlement's rules as plain Python."""
