"""Reading GlusterFS 10.3's lost-volume defect out of glusterd logs (issue 21). The excerpts are
glusterd.log lines recorded in SQ1 runs on this machine (node3 lost v1; node2, same run, kept it)."""
from __future__ import annotations

from types import SimpleNamespace

from harness.faults.crash import NodeCrash
from harness.gluster.glusterd_volumes import (
    SHD_ATTACH_GIVEN_UP_DEFECT, _log_time, attach_counts, dropped_evidence, lines_since,
)

LOST = """\
[2026-12-05 08:09:59.732045 +0000] I [MSGID: 106618] [glusterd-svc-helper.c:906:glusterd_attach_svc] 0-glusterd: \
adding svc glustershd (volume=v1) to existing process with pid 17697
[2026-12-05 08:09:59.732073 +0000] I [socket.c:3801:socket_submit_outgoing_msg] 0-glustershd: not connected \
(priv->connected = -1)
[2026-12-05 08:09:59.732080 +0000] E [MSGID: 106129] [glusterd-svc-helper.c:680:glusterd_svc_attach_cbk] \
0-management: iov is NULL
[2026-12-05 08:10:00.732254 +0000] I [MSGID: 106498] [glusterd-svc-helper.c:765:__glusterd_send_svc_configure_req] \
0-management: not connected yet
[2026-12-05 08:10:02.739450 +0000] I [MSGID: 106617] [glusterd-svc-helper.c:696:glusterd_svc_attach_cbk] \
0-management: svc glustershd of volume v1 attached successfully to pid 17697
[2026-12-05 08:10:02.841638 +0000] E [MSGID: 106048] [glusterd-op-sm.c:1798:glusterd_op_stage_status_volume] \
0-management: Failed to get volinfo [{Volume=v1}]
"""

KEPT = """\
[2026-12-05 08:10:01.743161 +0000] I [MSGID: 106618] [glusterd-svc-helper.c:906:glusterd_attach_svc] 0-glusterd: \
adding svc glustershd (volume=v1) to existing process with pid 17696
[2026-12-05 08:10:01.743168 +0000] I [MSGID: 106498] [glusterd-svc-helper.c:765:__glusterd_send_svc_configure_req] \
0-management: not connected yet
[2026-12-05 08:10:03.744324 +0000] I [MSGID: 106617] [glusterd-svc-helper.c:696:glusterd_svc_attach_cbk] \
0-management: svc glustershd of volume v1 attached successfully to pid 17696
"""


def test_lost_volume_is_named_with_its_log_lines():
    evidence = dropped_evidence(lines_since(LOST, 0), ["v1"])
    assert [ln.split("] ", 3)[-1] for ln in evidence] == [
        "0-glusterd: adding svc glustershd (volume=v1) to existing process with pid 17697",
        "0-management: iov is NULL", "0-management: svc glustershd of volume v1 attached successfully to pid 17697"]


def test_an_attach_that_only_waited_for_the_connection_is_not_the_defect():
    # "not connected yet" returns before sending: no callback, no extra unref; node2 kept v1.
    assert dropped_evidence(lines_since(KEPT, 0), ["v1"]) == ()


def test_lines_before_the_glusterd_started_do_not_count():
    started = _log_time("[2026-12-05 08:10:01.000000 +0000]")
    assert dropped_evidence(lines_since(LOST, started), ["v1"]) == ()
    assert dropped_evidence(lines_since(LOST, 0), ["v2"]) == ()  # another volume's attach


def test_attach_counts_say_when_an_attach_is_still_retrying():
    lines = lines_since(LOST, 0)
    retrying = attach_counts(lines[:4], "v1")
    assert retrying.in_progress and (retrying.started, retrying.finished) == (1, 0)
    done = attach_counts(lines, "v1")
    assert not done.in_progress and done.gave_up is None
    gave_up = attach_counts(lines[:4] + ["[2026-12-05 08:27:24.277600 +0000] W [MSGID: 106617] "
                                         "[glusterd-svc-helper.c:955:glusterd_attach_svc] 0-glusterd: "
                                         "attach failed for glustershd(volume=v1)"], "v1")
    assert not gave_up.in_progress and gave_up.gave_up is not None


UNWOUND_REPLY = """\
[2026-12-05 08:38:19.552615 +0000] I [MSGID: 106618] [glusterd-svc-helper.c:906:glusterd_attach_svc] 0-glusterd: \
adding svc glustershd (volume=v1) to existing process with pid 6808
[2026-12-05 08:38:19.552958 +0000] E [rpc-clnt.c:333:saved_frames_unwind] (--> (...))))) 0-glustershd: forced \
unwinding frame type(brick operations) op(--(14)) called at 2026-12-05 08:38:19.552652 +0000 (xid=0x2)
[2026-12-05 08:38:19.552966 +0000] E [MSGID: 106129] [glusterd-svc-helper.c:680:glusterd_svc_attach_cbk] \
0-management: iov is NULL
"""


def test_an_attach_whose_reply_was_lost_has_ended():
    # Sent, then the daemon's connection broke: nothing retries, so the attach is over (not attached).
    state = attach_counts(lines_since(UNWOUND_REPLY, 0), "v1")
    assert not state.in_progress and state.gave_up is not None and "iov is NULL" in state.gave_up
    # The send that failed (LOST) is retried a second later: still in progress until the retry ends.
    assert attach_counts(lines_since(LOST, 0)[:4], "v1").in_progress


# A glusterd that gave up attaching v1 to its new self-heal daemon (recorded on this machine, 2026-12-05,
# a restarted glusterd of the rolling-upgrade experiment): the node ran no self-heal daemon for v1 after it.
GAVE_UP = """\
[2026-12-05 21:03:48.610834 +0000] I [MSGID: 106618] [glusterd-svc-helper.c:931:glusterd_attach_svc] 0-glusterd: \
adding svc glustershd (volume=v1) to existing process with pid 20824
[2026-12-05 21:03:48.610849 +0000] I [MSGID: 106498] [glusterd-svc-helper.c:765:__glusterd_send_svc_configure_req] \
0-management: not connected yet
[2026-12-05 21:04:03.614005 +0000] W [MSGID: 106617] [glusterd-svc-helper.c:980:glusterd_attach_svc] 0-glusterd: \
attach failed for glustershd(volume=v1)
"""


class RecordedNode:
    """A node whose `grep` of glusterd.log answers with recorded lines (only what the repair reads)."""

    def __init__(self, name: str, address: str, log: str) -> None:
        self.name, self.address, self.log = name, address, log

    def run(self, argv, timeout=None, check=True):
        patterns = [argv[i + 1] for i, a in enumerate(argv) if a == "-e"]
        lines = [ln for ln in self.log.splitlines() if any(p in ln for p in patterns)]
        return SimpleNamespace(stdout="\n".join(lines) + "\n", ok=True)


def crash_reverting(log: str, restarted_at: float) -> tuple[NodeCrash, list, list]:
    """A NodeCrash whose revert restarted node2 at `restarted_at`, its `volume start` calls and records."""
    fault = NodeCrash.__new__(NodeCrash)
    started, recorded = [], []
    fault.node = RecordedNode("node2", "198.18.0.12", log)
    fault.observer = SimpleNamespace(gluster=SimpleNamespace(xml=lambda *args: started.append(args)))
    fault.timeline = SimpleNamespace(record=lambda *args, **details: recorded.append(details))
    fault.fault_id, fault.restarted_at, fault.daemon_repairs = "f1", restarted_at, set()
    return fault, started, recorded


def test_a_self_heal_daemon_attach_glusterd_gave_up_is_named_and_restarted_once():
    fault, started, recorded = crash_reverting(GAVE_UP, _log_time(GAVE_UP.splitlines()[0]) - 1)
    fault._restart_unattached_daemon("v1", "198.18.0.12")
    fault._restart_unattached_daemon("v1", "198.18.0.12")  # the next poll, before the daemon shows up
    assert started == [("volume", "start", "v1", "force")]
    assert len(recorded) == 1 and "attach failed for glustershd(volume=v1)" in recorded[0]["evidence"][0]
    assert recorded[0]["known_defect"] == SHD_ATTACH_GIVEN_UP_DEFECT


def test_no_restart_without_the_defects_log_line():
    first_two = "\n".join(GAVE_UP.splitlines()[:2]) + "\n"  # still retrying: it may yet attach
    for log, since, host in ((first_two, 0.0, "198.18.0.12"),
                             (GAVE_UP, _log_time(GAVE_UP.splitlines()[-1]) + 1, "198.18.0.12"),  # before the restart
                             (GAVE_UP, 0.0, "198.18.0.13")):  # another node's daemon
        fault, started, recorded = crash_reverting(log, since)
        fault._restart_unattached_daemon("v1", host)
        assert (started, recorded) == ([], []), (log, since, host)
