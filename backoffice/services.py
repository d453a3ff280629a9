"""Writes of the back office's own: staff users."""

from django.contrib.auth.models import Group, User
from django.db import transaction

from backoffice.roles import ROLE_NAMES, SHOP_STAFF, roles_sync
from loyalty.shops.models import Shop, ShopStaff


class StaffUserRefused(Exception):
    """The staff user cannot be created as asked; the message says why for the person at the terminal."""


@transaction.atomic
def staff_user_create(
    *, username: str, role: str, password: str, shop_code: str | None = None, email: str = ""
) -> User:
    """An active is_staff user in the group of `role` (a key of ROLE_NAMES), linked to the shop of `shop_code` for
    the shop role. Raises StaffUserRefused (writing nothing) if the username is taken, the role is unknown, the
    shop is missing for the shop role or given for another, or no shop has that code."""
    if role not in ROLE_NAMES:
        raise StaffUserRefused(f"Unknown role {role!r}: one of {', '.join(ROLE_NAMES)}.")
    group_name = ROLE_NAMES[role]
    if group_name == SHOP_STAFF and not shop_code:
        raise StaffUserRefused("The shop role needs --shop CODE: shop staff see only their shop's rows.")
    if group_name != SHOP_STAFF and shop_code:
        raise StaffUserRefused(f"--shop is for the shop role only; a {role} user works for the whole program.")
    shop = None
    if shop_code:
        shop = Shop.objects.filter(code=shop_code).first()
        if shop is None:
            raise StaffUserRefused(f"No shop with code {shop_code!r}. Shops are created by load_program.")
    if User.objects.filter(username__iexact=username).exists():
        raise StaffUserRefused(f"A user named {username!r} exists already; nothing was changed.")
    group = Group.objects.filter(name=group_name).first()
    if group is None:  # the roles' migration has not run on this database, or its groups were deleted
        roles_sync()
        group = Group.objects.get(name=group_name)
    user = User.objects.create_user(username=username, email=email, password=password, is_staff=True)
    user.groups.add(group)
    if shop is not None:
        ShopStaff.objects.create(user=user, shop=shop)
    return user
