"""factory-boy factories shared by the whole suite."""

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from assets.models import Asset, AssetStatus


class UserFactory(factory.django.DjangoModelFactory):
    """A user; pass `roles=["operator"]` to put them in role groups."""

    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("pass-word-123")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            for name in extracted:
                group, _ = Group.objects.get_or_create(name=name)
                self.groups.add(group)
            if "admin" in extracted:
                self.is_superuser = self.is_staff = True
                self.save(update_fields=["is_superuser", "is_staff"])


REAL_ESTATE_METADATA = {"address": "1 Main Street, London", "property_type": "commercial", "area_sqm": 1200}


class AssetFactory(factory.django.DjangoModelFactory):
    """A draft real-estate asset written straight to the table (tests that need audit use the services)."""

    class Meta:
        model = Asset

    reference = factory.Sequence(lambda n: f"RE-2026-{n + 900000:06d}")
    name = factory.Sequence(lambda n: f"Asset {n}")
    asset_type = "real_estate"
    status = AssetStatus.DRAFT
    jurisdiction = "GB"
    currency = "GBP"
    metadata = factory.LazyFunction(lambda: dict(REAL_ESTATE_METADATA))
    issuer_name = "Issuer Ltd"
    created_by = factory.SubFactory(UserFactory, roles=["operator"])
