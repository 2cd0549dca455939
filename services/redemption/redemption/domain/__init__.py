"""Redemption's rules as plain Python."""
