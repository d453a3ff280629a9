"""What each role can do in the admin: the groups hold exactly the permissions backoffice.roles defines, and every
registered admin answers view/add/change/delete per role as the matrix below says."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.test import RequestFactory

from backoffice.roles import PROGRAM_MANAGER, ROLE_NAMES, ROLES, SHOP_STAFF, SUPPORT_AGENT, roles_sync

pytestmark = pytest.mark.django_db

# model -> what the admin lets each role do: v(iew) a(dd) c(hange) d(elete), "-" for nothing. The read-only admins
# (ledger, transactions, holds, ...) refuse add/change/delete to everyone. A newly registered admin needs a row.
MATRIX = {
    #                                 super   manager  support  shop
    "auth.group":                    ("vacd", "-",     "-",     "-"),
    "auth.user":                     ("vacd", "-",     "-",     "-"),
    "axes.accessattempt":            ("vcd",  "-",     "-",     "-"),
    "axes.accessfailurelog":         ("vcd",  "-",     "-",     "-"),
    "axes.accesslog":                ("vcd",  "-",     "-",     "-"),
    "backoffice.auditlogentry":      ("v",    "v",     "-",     "-"),
    "django_celery_beat.clockedschedule": ("vacd", "vacd", "-",    "-"),
    "django_celery_beat.crontabschedule": ("vacd", "vacd", "-",    "-"),
    "django_celery_beat.intervalschedule": ("vacd", "vacd", "-",   "-"),
    "django_celery_beat.periodictask": ("vacd", "vacd",   "-",     "-"),
    "django_celery_beat.solarschedule": ("vacd", "vacd",  "-",     "-"),
    "loyalty.account":               ("v",    "v",     "v",     "-"),
    "loyalty.apikey":                ("vac",  "-",     "-",     "-"),
    "loyalty.campaign":              ("vacd", "vacd",  "v",     "-"),
    "loyalty.hold":                  ("v",    "v",     "v",     "v"),
    "loyalty.ledgerentry":           ("v",    "v",     "v",     "v"),
    "loyalty.message":               ("v",    "v",     "v",     "-"),
    "loyalty.jobstatus":             ("v",    "v",     "-",     "-"),
    "loyalty.plan":                  ("vac",  "vac",   "v",     "-"),
    "loyalty.program":               ("vc",   "vc",    "-",     "-"),  # one program: nobody adds a second
    "loyalty.shop":                  ("vac",  "vac",   "v",     "v"),
    "loyalty.subscription":          ("v",    "v",     "v",     "v"),
    "loyalty.subscriptionpayment":   ("v",    "v",     "v",     "-"),
    "loyalty.tier":                  ("vac",  "vac",   "v",     "-"),
    "loyalty.tierchange":            ("v",    "v",     "v",     "-"),
    "loyalty.transaction":           ("v",    "v",     "v",     "v"),
    "loyalty.adjustment":            ("v",    "v",     "v",     "-"),  # asked on the member page; see below
    "members.member":                ("vac",  "vac",   "vc",    "v"),  # never deleted: closed or erased
    "rewards.redemption":            ("v",    "v",     "v",     "v"),  # + the cancel action, see below
    "rewards.reward":                ("vacd", "vacd",  "v",     "-"),
    "rewards.voucher":               ("v",    "v",     "v",     "v"),
}  # fmt: skip
COLUMNS = ("super", "manager", "support", "shop")


def what_admin_allows(model_admin, user: User) -> str:
    request = RequestFactory().get("/admin/")
    request.user = user
    answers = [
        model_admin.has_view_permission(request),
        model_admin.has_add_permission(request),
        model_admin.has_change_permission(request),
        model_admin.has_delete_permission(request),
    ]
    return "".join(letter for letter, allowed in zip("vacd", answers, strict=True) if allowed) or "-"


@pytest.fixture
def users(roles, shop) -> dict[str, User]:
    made = {"super": User.objects.create_superuser("root", "", "pw-unused-1234")}
    for role, group in ROLE_NAMES.items():
        user = User.objects.create_user(f"a-{role}", is_staff=True)
        user.groups.add(Group.objects.get(name=group))
        made[role] = User.objects.get(pk=user.pk)
    return made


def test_every_registered_admin_has_a_row_in_the_matrix():
    registered = {model._meta.label_lower for model in admin.site._registry}
    assert registered - MATRIX.keys() == set(), "a new admin: add its row to MATRIX (what each role may do)"
    assert MATRIX.keys() - registered == set()


@pytest.mark.parametrize("label", sorted(MATRIX))
def test_each_role_can_do_in_the_admin_what_the_matrix_says(users, label):
    model_admin = next(ma for model, ma in admin.site._registry.items() if model._meta.label_lower == label)

    allowed = tuple(what_admin_allows(model_admin, users[column]) for column in COLUMNS)

    assert allowed == MATRIX[label]


def test_the_groups_hold_exactly_their_permissions_and_a_stray_one_is_taken_away(roles):
    support = Group.objects.get(name=SUPPORT_AGENT)
    support.permissions.add(Permission.objects.get(codename="delete_member"))

    roles_sync()

    codes = {name: set(Group.objects.get(name=name).permissions.values_list("codename", flat=True)) for name in ROLES}
    assert "delete_member" not in codes[SUPPORT_AGENT]
    assert codes[SUPPORT_AGENT] >= {"add_adjustment", "view_adjustment", "change_member", "change_subscription"}
    assert "approve_adjustment" not in codes[SUPPORT_AGENT]
    assert "approve_adjustment" in codes[PROGRAM_MANAGER]
    assert not {"view_apikey", "add_apikey", "view_shopstaff", "change_user", "view_group"} & codes[PROGRAM_MANAGER]
    assert codes[PROGRAM_MANAGER] & {"add_auditlogentry", "change_auditlogentry", "delete_auditlogentry"} == set()
    assert {code.split("_", 1)[0] for code in codes[SHOP_STAFF]} == {"view"}


def test_every_model_a_role_names_exists():
    for entries in ROLES.values():
        for app_label, model, _actions in entries:
            assert apps.get_model(app_label, model), (app_label, model)


def test_a_model_added_later_joins_the_program_manager_on_the_next_sync(roles):
    """A new model's permissions arrive with `migrate` (create_permissions); the post_migrate re-sync adds them."""
    new_model = ContentType.objects.create(app_label="rewards", model="giftcard")
    Permission.objects.create(codename="view_giftcard", name="Can view gift card", content_type=new_model)

    roles_sync()

    manager = Group.objects.get(name=PROGRAM_MANAGER)
    assert manager.permissions.filter(codename="view_giftcard").exists()
    assert not Group.objects.get(name=SHOP_STAFF).permissions.filter(codename="view_giftcard").exists()


def get(client, url: str):
    return client.get(url, secure=True)


def test_a_support_agent_is_refused_api_keys_users_and_groups(staff_client):
    support = staff_client("support")

    for url in ["/admin/loyalty/apikey/", "/admin/auth/user/", "/admin/auth/group/", "/admin/auth/user/add/",
                f"/admin/auth/user/{support.user.pk}/change/", "/admin/backoffice/auditlogentry/"]:  # fmt: skip
        assert get(support, url).status_code == 403, url
    assert get(support, "/admin/members/member/").status_code == 200
    refusal = get(support, "/admin/loyalty/apikey/").content.decode()  # says why, and the way back
    assert "Not allowed for your role" in refusal and 'href="/admin/"' in refusal


def test_a_program_manager_is_refused_api_keys_and_users_but_reads_the_audit_log(staff_client):
    manager = staff_client("manager")

    for url in ["/admin/loyalty/apikey/", "/admin/loyalty/apikey/add/", "/admin/auth/user/", "/admin/auth/group/"]:
        assert get(manager, url).status_code == 403, url
    assert get(manager, "/admin/backoffice/auditlogentry/").status_code == 200
    assert get(manager, "/admin/loyalty/tier/add/").status_code == 200


def test_the_index_shows_each_role_only_what_it_may_open(staff_client, shop):
    support, shop_user = staff_client("support"), staff_client("shop", shop=shop)

    support_page, shop_page = get(support, "/admin/").content.decode(), get(shop_user, "/admin/").content.decode()

    assert "/admin/members/member/" in support_page and "/admin/loyalty/apikey/" not in support_page
    assert "/admin/loyalty/transaction/" in shop_page
    assert "/admin/rewards/reward/" not in shop_page and "/admin/auth/user/" not in shop_page
