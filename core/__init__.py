"""Shared building blocks for the 鹏城分 domain packages and the web app.

Kept deliberately small: persistence base and unit of work, encryption, the audit log,
the clock, the fast store (Redis or in-process), ID-number validation and the data-category
registry. Nothing here imports Flask.
"""
