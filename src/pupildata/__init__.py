"""pupildata — the pupil data service of a national education department.

It receives pupil records, matches them into one longitudinal record per child, publishes statistics that
identify no one, shares data only through approved and audited routes, and answers pupils and parents who ask
what is held about them.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
