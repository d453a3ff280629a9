from tests.api.conftest import balance, purchase


def test_a_purchase_credits_its_points(api, member):
    response = api.post("/api/v1/transactions", purchase(member, total="25.50"))

    assert response.status_code == 201, response.content
    assert response.json()["points"] == 25 and balance(member) == (25, 0, 0)
