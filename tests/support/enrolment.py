"""Binding an account to a person with a role, as the person does it (issue 17): someone with the
right issues an enrolment code, the code reaches the person's inbox in the notifications
database (their registered channel), and the person redeems it with a username and password."""
import re

import requests
import sqlalchemy as sa

CODE = re.compile(r"[A-Z2-9]{4}(?:-[A-Z2-9]{4}){3}")


def code_from_inbox(notifications_db_url, person_id):
    """The latest enrolment code delivered to the person's inbox."""
    engine = sa.create_engine(notifications_db_url)
    try:
        with engine.connect() as conn:
            body = conn.execute(sa.text(
                "SELECT body FROM notifications WHERE person_id = :p AND kind = 'enrolment_code' "
                "ORDER BY created_at DESC LIMIT 1"), {"p": person_id}).scalar_one()
    finally:
        engine.dispose()
    return CODE.search(body).group()


def enrol(base, issuer_token, person_id, org_id, username, password, notifications_db_url):
    """Issue a code (as the issuer), read it from the inbox, redeem it; returns the redeem answer."""
    r = requests.post(base + "/api/v1/enrolments", json={"person_id": person_id, "org_id": org_id}, timeout=20,
                      headers={"Authorization": f"Bearer {issuer_token}"})
    assert r.status_code == 201, r.text
    assert not CODE.search(r.text), "the code is never in the answer"
    code = code_from_inbox(notifications_db_url, person_id)
    r = requests.post(base + "/api/v1/enrolments/redeem", timeout=20,
                      json={"code": code, "username": username, "password": password})
    assert r.status_code == 201, r.text
    return r.json()
