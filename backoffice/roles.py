"""The staff's roles: three groups whose permissions are defined here, in code, and synced to exactly that set.

A role lists (app_label, model, actions); an action is a permission's verb (`view`, `add`, `change`, `delete`,
or a model's own, like `approve` for `loyalty.approve_adjustment`). The program manager is the exception: it
gets every permission of the project's apps but the ones listed in PROGRAM_MANAGER_EXCLUDED, so a model added
later joins it on the next `migrate` (the post_migrate handler in apps.py re-syncs). The support agent and the
shop staff name their models one by one: a new model is visible to them only once it is added below.
"""

from django.apps import apps as global_apps
from django.db.models import Q

PROGRAM_MANAGER = "Program manager"
SUPPORT_AGENT = "Support agent"
SHOP_STAFF = "Shop staff"

VIEW = ("view",)

# Apps whose models are the program's, and the schedule of its jobs (Django's own and axes' are left to
# superusers).
PROJECT_APPS = ("members", "loyalty", "rewards", "privacy", "backoffice", "django_celery_beat")

# Who may call the API, who is staff and which staff belongs to a shop: superusers only. The audit log is
# given back below, to read only.
PROGRAM_MANAGER_EXCLUDED = {("loyalty", "apikey"), ("loyalty", "shopstaff"), ("backoffice", "auditlogentry")}
PROGRAM_MANAGER_EXTRA = [("backoffice", "auditlogentry", VIEW)]

SUPPORT_AGENT_PERMISSIONS = [
    ("members", "member", ("view", "change")),
    ("loyalty", "account", VIEW),
    ("loyalty", "ledgerentry", VIEW),
    ("loyalty", "transaction", VIEW),
    ("loyalty", "hold", VIEW),
    ("loyalty", "tierchange", VIEW),
    ("loyalty", "adjustment", ("view", "add")),  # asks; a program manager approves above the limit
    ("loyalty", "subscription", ("view", "change")),  # cancel and extend are changes
    ("loyalty", "subscriptionevent", VIEW),  # the subscription page's history
    ("loyalty", "subscriptionpayment", VIEW),
    ("rewards", "redemption", ("view", "change")),  # cancel is a change
    ("rewards", "voucher", VIEW),
    ("rewards", "reward", VIEW),
    ("loyalty", "tier", VIEW),
    ("loyalty", "plan", VIEW),
    ("loyalty", "campaign", VIEW),
    ("loyalty", "shop", VIEW),
    ("loyalty", "message", VIEW),  # what was mailed to a member, and whether it went
]

# Read-only; the admins scope every one of these to the user's own shop (loyalty.shops.admin.ShopScopedAdmin).
SHOP_STAFF_PERMISSIONS = [
    ("loyalty", "transaction", VIEW),
    ("loyalty", "ledgerentry", VIEW),
    ("loyalty", "hold", VIEW),
    ("rewards", "redemption", VIEW),
    ("rewards", "voucher", VIEW),
    ("loyalty", "subscription", VIEW),
    ("loyalty", "subscriptionevent", VIEW),
    ("loyalty", "shop", VIEW),
    ("members", "member", VIEW),
]

ROLES = {
    PROGRAM_MANAGER: PROGRAM_MANAGER_EXTRA,  # plus every project permission, see role_permission_filter
    SUPPORT_AGENT: SUPPORT_AGENT_PERMISSIONS,
    SHOP_STAFF: SHOP_STAFF_PERMISSIONS,
}

# The names `create_staff_user --role` takes.
ROLE_NAMES = {"manager": PROGRAM_MANAGER, "support": SUPPORT_AGENT, "shop": SHOP_STAFF}


def _listed(entries) -> Q:
    query = Q(pk__in=[])
    for app_label, model, actions in entries:
        query |= Q(
            content_type__app_label=app_label,
            content_type__model=model,
            codename__in=[f"{action}_{model}" for action in actions],
        )
    return query


def role_permission_filter(role: str) -> Q:
    """The Permission rows `role` has, as a filter (permissions of models that do not exist yet match nothing)."""
    query = _listed(ROLES[role])
    if role == PROGRAM_MANAGER:
        excluded = Q(pk__in=[])
        for app_label, model in PROGRAM_MANAGER_EXCLUDED:
            excluded |= Q(content_type__app_label=app_label, content_type__model=model)
        query |= Q(content_type__app_label__in=PROJECT_APPS) & ~excluded
    return query


def roles_sync(*, apps=global_apps, using: str = "default") -> None:
    """Create the three groups if missing and give each exactly its permissions (any other is taken away).

    `apps` is a migration's app registry when called from one; permissions must exist already."""
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for role in ROLES:
        group, _ = group_model.objects.using(using).get_or_create(name=role)
        group.permissions.set(permission_model.objects.using(using).filter(role_permission_filter(role)))


def roles_delete(*, apps=global_apps, using: str = "default") -> None:
    apps.get_model("auth", "Group").objects.using(using).filter(name__in=ROLES).delete()
