"""Factories that build through the services, so test data obeys the same rules as real data."""

import factory

from loyalty.shops.models import Shop
from members.models import Member
from members.services import member_enroll


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    email = factory.Sequence(lambda n: f"member{n}@example.com")
    first_name = "Ada"
    last_name = "Lovelace"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return member_enroll(**kwargs)


class ShopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shop
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"shop-{n}")
    name = factory.LazyAttribute(lambda shop: f"Shop {shop.code}")
