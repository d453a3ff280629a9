"""The staff's side: the admin site, its dashboard, roles and the screens that compose several concerns."""
