"""Personal credit reports and no-violation certificates, signed and verifiable (issue 11)."""
