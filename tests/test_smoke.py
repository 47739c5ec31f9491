def test_login_and_me(client, world):
    r = client.post("/api/auth/login", json={"username": world.member_v1.mobile, "password": "Test@Pass2026"})
    assert r.status_code == 200, r.json
    token = r.json["access_token"]
    r = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.json
    assert r.json["member"]["name"] == "一村党员"
    assert r.json["member"]["id_card"].startswith("5224**********")
