from django.urls import path

from members.portal import account, auth_views, catalogue, pages

app_name = "portal"

urlpatterns = [
    path("", pages.home, name="home"),
    path("history", pages.history, name="history"),
    path("rewards", catalogue.rewards, name="rewards"),
    path("rewards/<str:code>", catalogue.reward, name="reward"),
    path("rewards/<str:code>/redeem", catalogue.reward_redeem, name="reward-redeem"),
    path("vouchers", catalogue.vouchers, name="vouchers"),
    path("vouchers/<str:code>", catalogue.voucher, name="voucher"),
    path("subscription", account.subscription, name="subscription"),
    path("subscription/cancel", account.subscription_cancel_view, name="subscription-cancel"),
    path("subscription/resume", account.subscription_resume_view, name="subscription-resume"),
    path("referral", account.referral, name="referral"),
    path("profile", account.profile, name="profile"),
    path("profile/export", account.profile_export, name="profile-export"),
    path("profile/close", account.profile_close, name="profile-close"),
    path("login", auth_views.login, name="login"),
    path("login/<str:token>", auth_views.signin, name="signin"),
    path("logout", auth_views.logout, name="logout"),
    path("join", auth_views.join, name="join"),
    path("language", auth_views.language, name="language"),
]
