"""The run's figures: one table, printed and (``--write-doc``) written into docs/reliability.md."""
import re

BEGIN = "<!-- chaos-figures:begin -->"
END = "<!-- chaos-figures:end -->"


class Figures:
    def __init__(self):
        self.rows = []                # (stage, name, value, must_be_zero)
        self.extra_reported = set()   # decisions reported decided outside the main load
        self.elapsed = 0.0

    def add(self, stage, name, value, zero=False):
        self.rows.append((stage, name, value, zero))

    # ------------------------------------------------------------------ stages
    def load(self, r):
        s = "1-2 crash/restart"
        self.add(s, "ballots closed under chaos", r.total)
        self.add(s, "decisions reported decided by the API (HTTP 200)", len(r.reported))
        self.add(s, "closes found already decided on a retry", len(r.conflicted))
        self.add(s, "close attempts refused during outages (retried)", r.failed_attempts)
        self.add(s, "consumer processes SIGKILLed (archive, accountability)", r.kills)
        self.add(s, "consumer restarts", r.consumer_restarts)
        self.add(s, "broker restarts (stop_app/start_app)", r.broker_restarts)
        self.add(s, "slowest reconnect after start_app, s",
                 f"{max(r.reconnect_seconds):.1f}" if r.reconnect_seconds else "-")
        self.add(s, "services not reconnected on their own", r.not_reconnected, True)
        self.add(s, "load duration, s", f"{r.elapsed:.0f}")

    def publisher(self, p):
        s = "3 publisher crash"
        self.extra_reported |= set(p["decision_ids"])
        self.add(s, "decisions committed, voting SIGKILLed before publishing", p["held"])
        self.add(s, "events waiting in voting's outbox at the kill", p["pending_at_kill"])
        self.add(s, "of the decisions, archived before the kill (hold failed)", p["archived_before_kill"], True)
        self.add(s, "of them archived and linked after restart", p["delivered"])
        self.add(s, "events lost", p["held"] - p["delivered"], True)

    def idempotency(self, i):
        s = "3b no command twice"
        self.extra_reported |= set(i["decision_ids"])
        self.add(s, "keyed writes (meeting creates + ballot closes), each answered then sent again",
                 i["requests"])
        self.add(s, "meetings / voting processes SIGKILLed during them", i["kills"])
        self.add(s, "requests sent again under their key (no answer or 5xx)", i["resent"])
        self.add(s, "requests never answered within 180 s", i["gave_up"], True)
        self.add(s, "meetings made beyond one per answered create", i["duplicate_meetings"], True)
        self.add(s, "ballots decided more than once", i["ballots_decided_twice"], True)
        self.add(s, "repeats answered anything but the first result", i["repeats_not_first"], True)
        self.add(s, "closes refused as already closed (409)", i["closes_refused_as_closed"], True)
        self.add(s, "other refusals (4xx)", i["other_refusals"], True)

    def verify(self, v):
        s = "1-3 totals"
        self.add(s, "decisions made (voting)", v["made"])
        self.add(s, "records lost (reported decided, not archived or not linked)", v["lost_reported"], True)
        self.add(s, "decisions not archived or not linked (any)", v["lost_any"], True)
        self.add(s, "duplicates with effect (records, links)", v["duplicates"], True)
        self.add(s, "archive chain breaks (GET /api/v1/records/verify)", 0 if v["chain_ok"] else 1, True)
        self.add(s, "records in the verified chain", v["chain_records"])

    def duplicates(self, d):
        s = "4 duplicates"
        self.add(s, "captured events redelivered, twice each", d["events"])
        self.add(s, "messages published", d["published"])
        self.add(s, "duplicates with effect (rows changed by the redelivery)", d["changed"], True)

    def poison(self, p):
        s = "5 poison"
        self.add(s, "handler queues poisoned", p["queues"])
        self.add(s, "malformed messages sent straight to the queues", p["sent"])
        self.add(s, "of them in their handler's dead-letter queue", p["dead_lettered"])
        self.add(s, "malformed messages not dead-lettered", p["sent"] - p["dead_lettered"], True)
        self.add(s, "failing events dead-lettered after the delivery limit", p["limit_dead_lettered"])
        self.add(s, "of them archived after the fix and the documented replay", p["replayed_archived"])
        self.add(s, "dead-lettered events not recovered by the replay",
                 p["limit_sent"] - p["replayed_archived"], True)
        self.add(s, "handlers not working after the poison", p["broken_handlers"], True)

    def canary(self, c):
        s = "6 secret ballot"
        self.add(s, "canary secret votes cast", c["votes"])
        self.add(s, "places scanned (tables, service logs, events)", c["places"])
        self.add(s, "voter-choice links found (secret ballot)", c["secret_links"], True)
        self.add(s, "links found in a named ballot (scanner self-check, > 0)", c["named_links"])
        self.add(s, "scanner self-check failed", 0 if c["named_links"] > 0 else 1, True)

    def bad_input(self, b):
        s = "7 bad input"
        self.add(s, "operations in the OpenAPI", b["operations"])
        self.add(s, "stateless requests (schemathesis)", b["stateless_requests"])
        self.add(s, "stateful requests (schemathesis state machine)", b["stateful_requests"])
        self.add(s, "oversized bodies sent (declared length: 413; chunked: 4xx, unread)", b["oversized"])
        self.add(s, "5xx answers (stateless: per operation; stateful, oversized: per request)",
                 b["server_errors"], True)
        self.add(s, "oversized bodies not refused early", b["oversized_not_refused"], True)

    def security(self, c):
        s = "8 security"
        for name, value, *zero in c["rows"]:
            self.add(s, name, value, bool(zero and zero[0]))

    def pytest(self, p):
        s = "9 test selection"
        self.add(s, "tests passed (authorization matrix, bad input, auth and sessions, webhooks, canary, A3, "
                    "RPC outage, NUL input)", p["passed"])
        self.add(s, "tests failed or errored", p["failed"], True)

    def final(self, v):
        s = "end"
        self.add(s, "records lost at the end of the run", v["lost_reported"], True)
        self.add(s, "decisions not archived or not linked at the end", v["lost_any"], True)
        self.add(s, "duplicates with effect at the end", v["duplicates"], True)
        self.add(s, "archive chain breaks at the end", 0 if v["chain_ok"] else 1, True)

    # ------------------------------------------------------------------ output
    def failures(self):
        return [f"{stage}: {name} = {value}" for stage, name, value, zero in self.rows
                if zero and value not in (0, "0")]

    def table(self):
        lines = ["| stage | figure | value | must be 0 |", "|---|---|---:|:---:|"]
        for stage, name, value, zero in self.rows:
            lines.append(f"| {stage} | {name} | {value} | {'yes' if zero else ''} |")
        lines.append(f"| | run time, s | {self.elapsed:.0f} | |")
        return "\n".join(lines)


def write_doc(path, table, meta, failed):
    text = path.read_text(encoding="utf-8") if path.exists() else f"# Reliability\n\n{BEGIN}\n{END}\n"
    block = (f"{BEGIN}\nRun of {meta['date']} on {meta['machine']}: `{meta['command']}` (seed {meta['seed']}), "
             f"{'every must-be-zero figure is zero' if not failed else 'FAILED: ' + '; '.join(failed)}.\n\n"
             f"{table}\n{END}")
    if BEGIN in text and END in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    else:
        text += "\n" + block + "\n"
    path.write_text(text, encoding="utf-8")
