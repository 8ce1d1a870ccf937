"""Every phrase list and threshold the signals use, in one place a consultant can review.

Patterns are case-insensitive regular expressions unless marked otherwise. Each list
says what it is for; change a list here and every figure that uses it follows.
"""

from __future__ import annotations

# An agent's sign-off at the end of a brand reply: `^AB`, `-Becky`, `*JS`, `/CG`, `~Sam`,
# possibly followed by a link. Case-sensitive on purpose: initials are capitals.
# Group 1 is the agent's signature.
SIGNOFF_PATTERN = (
    r"(?:^|\s)[\^\-–—~*/]\s?([A-Z][a-z]{1,14}|[A-Z]{1,3}\d?)"
    r"\s*(?:https?://\S+\s*)*$"
)
