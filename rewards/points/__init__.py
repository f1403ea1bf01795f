"""Incentive points (信用积分): a double-entry ledger, earning rules, expiry, redemption."""
