"""Builds an organization with a secretary, a deputy and members through the meetings RPC."""
import datetime as dt

ADMIN = {"person_id": "admin", "org_id": None, "roles": ["admin"]}


def actor(person_id, org_id, *roles):
    return {"person_id": person_id, "org_id": org_id, "roles": list(roles)}


def build_org(meetings, n_members=9, org_id=None, start=dt.date(2020, 1, 1)):
    """Create an org with N group members: p0 secretary, p1 deputy, the rest members."""
    org = meetings.create_organization(ADMIN, {"name": "测试局党组", "org_id": org_id})
    ids = []
    for i in range(n_members):
        person = meetings.register_person(ADMIN, {"name": f"成员{i}"})
        role = "secretary" if i == 0 else "deputy_secretary" if i == 1 else "member"
        meetings.appoint(ADMIN, {"org_id": org["org_id"], "person_id": person["person_id"], "role": role,
                                 "start_date": start.isoformat()})
        ids.append(person["person_id"])
    return org["org_id"], ids
