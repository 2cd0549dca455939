"""Attendance's rules as plain Python."""
