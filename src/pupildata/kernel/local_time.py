"""The service's time zone: the United Kingdom's (GMT in winter, BST in summer).

Pages show times in it, and a moment a sender gives for a calendar date (a Parquet timestamp with a time zone,
say, where a date of birth was asked for) is read as the date it is there."""

from __future__ import annotations

TIME_ZONE = "Europe/London"
