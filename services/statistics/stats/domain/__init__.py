"""Statistics's rules as plain Python."""
