"""Shared building blocks of the vocational training voucher platform (职业培训券)."""
