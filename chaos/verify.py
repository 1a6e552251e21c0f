"""What a user would check after the chaos: every decision archived and linked exactly
once (over the API, as the secretary), the archive's chain intact (GET
/api/v1/records/verify), and the same counts straight from the two databases."""
from collections import Counter

from bench.common import Http, expect


def _pages(client, path, key="items", limit=200):
    offset = 0
    while True:
        sep = "&" if "?" in path else "?"
        body = expect(client.get(f"{path}{sep}limit={limit}&offset={offset}"), 200)
        items = body[key]
        yield from items
        if len(items) < limit:
            return
        offset += limit


def decisions(port, token, org_id):
    """{decision_id: ballot_id} of every decision voting holds for the organization."""
    client = Http(port, token)
    try:
        return {d["decision_id"]: d.get("ballot_id") for d in _pages(client, f"/api/v1/decisions?org_id={org_id}")}
    finally:
        client.close()


def check(env, token, org_id, reported, log=print):
    """``reported``: decision ids the API answered a close with.  Returns figures."""
    client = Http(env.port, token)
    try:
        made = decisions(env.port, token, org_id)
        records = Counter(r["subject_id"] for r in _pages(client, f"/api/v1/records?org_id={org_id}&kind=decision"))
        linked = {}
        for decision_id in made:
            status, body = client.get(f"/api/v1/decisions/{decision_id}/responsibility")
            linked[decision_id] = len(body.get("links", [])) if status == 200 else 0
        verify = expect(client.get(f"/api/v1/records/verify?org_id={org_id}"), 200)
    finally:
        client.close()
    reported = set(reported)
    not_archived = {d for d in made if records.get(d, 0) == 0}
    not_linked = {d for d in made if not linked.get(d)}
    # the databases: more than one record, link row or decision row per decision is a duplicate
    db_records = dict(env.rows("archive", "SELECT subject_id, count(*) FROM records WHERE kind = 'decision' "
                                          "AND corrects IS NULL GROUP BY subject_id"))
    db_links = env.rows("accountability", "SELECT decision_id, count(*), count(DISTINCT person_id) "
                                          "FROM responsibility_links GROUP BY decision_id")
    db_decisions = dict(env.rows("accountability", "SELECT id, count(*) FROM decisions GROUP BY id"))
    duplicates = (sum(n - 1 for n in records.values() if n > 1)
                  + sum(n - 1 for n in db_records.values() if n > 1)
                  + sum(total - distinct for _, total, distinct in db_links)
                  + sum(n - 1 for n in db_decisions.values() if n > 1))
    out = {
        "made": len(made),
        "reported": len(reported),
        "reported_unknown": len(reported - set(made)),        # the API said decided, voting has no such decision
        "lost_reported": len((not_archived | not_linked) & reported) + len(reported - set(made)),
        "lost_any": len(not_archived | not_linked),
        "not_archived": len(not_archived),
        "not_linked": len(not_linked),
        "duplicates": duplicates,
        "chain_ok": bool(verify.get("ok")),
        "chain_records": verify.get("records"),
        "first_bad": verify.get("first_bad"),
        "links": sum(linked.values()),
    }
    log(f"verified {out['made']} decisions ({out['reported']} reported decided by the API): "
        f"{out['not_archived']} not archived, {out['not_linked']} not linked, {out['duplicates']} duplicates; "
        f"chain {'verifies' if out['chain_ok'] else 'BROKEN ' + repr(out['first_bad'])} "
        f"over {out['chain_records']} records")
    return out
