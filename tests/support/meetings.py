"""What meetings tests run beside the meetings service: a controlled clock and a stand-in voting service."""
from nameko.rpc import rpc

from shared import clock


def control_clock(monkeypatch, tmp_path):
    """Turn the controlled clock on for this test (the setting deploy/ never sets)."""
    monkeypatch.setenv(clock.CONTROLLED_CLOCK_SETTING, str(tmp_path / "controlled-clock"))


class VotingStandIn:
    """A real nameko service named "voting" answering ``open_ballots`` as the test says: what
    meetings asks before a meeting closes (V1), without running voting itself."""
    name = "voting"
    open = {}          # meeting_id -> [ballot_id]; set by the test
    asked = []

    @rpc
    def open_ballots(self, actor, meeting_id):
        type(self).asked.append((actor["person_id"], meeting_id))
        return list(type(self).open.get(meeting_id, []))
