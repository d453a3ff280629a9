"""How the API shows the ledger: a balance."""

from rest_framework import serializers


class BalanceOut(serializers.Serializer):
    available = serializers.IntegerField()
    pending = serializers.IntegerField()
    held = serializers.IntegerField()
