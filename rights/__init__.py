"""Residents' rights: disputes, credit repair, human review, export and erasure (DESIGN §5.10)."""
