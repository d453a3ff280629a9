"""Django's admin autodiscovery imports this module; the back office's screens register from their own modules."""

from backoffice import member_admin  # noqa: F401  (registers Member: search, the 360 page, adjustments)
