"""The web portal and JSON API of the pupil data service."""

from pupildata.web.app import create_app

__all__ = ["create_app"]
