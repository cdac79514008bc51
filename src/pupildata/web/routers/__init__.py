"""One router per area of the portal. Each area adds its module here and its templates under ``templates/<area>/``."""
