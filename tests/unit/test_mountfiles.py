"""A mount's file API (harness.mountfiles) as a client host runs it: the request's encoding, errors
as data raised here with their errno class and the client and path named, and every op once through
`python3 -c` on a plain directory of this host (what a volume answers is the cluster lane's business)."""
from __future__ import annotations

import errno
import hashlib
import json
import os
import signal

import pytest

from harness.errors import HarnessError, StreamEnded
from harness.history import FileStore, Outcome
from harness.mountfiles import MAX_REQUEST_BYTES, SCRIPT, MountFiles, encode, payload, raise_for
from harness.runner import ProcessStream

from .thishost import ThisHost


def test_repetitive_data_travels_as_fill_and_the_rest_as_base64():
    assert payload(b"x" * 8192) == {"fill": [ord("x"), 8192]}
    assert payload(b"ab") == {"data": "YWI="}
    assert payload(b"") == {"data": ""}


def test_a_request_too_big_for_argv_is_refused_before_it_is_sent():
    request = json.loads(encode([{"op": "read", "path": "/m/a"}], 5.0))
    assert request == {"op": "files", "calls": [{"op": "read", "path": "/m/a"}], "timeout": 5.0,
                       "stop_on_error": False}
    with pytest.raises(ValueError, match="over 65536"):
        encode([{"op": "write", "path": "/m/a", **payload(os.urandom(MAX_REQUEST_BYTES))}], 5.0)


def test_an_errno_becomes_its_oserror_class_naming_the_client_and_path():
    with pytest.raises(FileNotFoundError) as err:
        raise_for({"op": "read", "ok": False, "errno": errno.ENOENT, "error": "No such file or directory",
                   "value": None}, "client c1", "/m/x")
    assert err.value.errno == errno.ENOENT and err.value.filename == "client c1:/m/x"
    with pytest.raises(TimeoutError, match="no answer in 2 s"):
        raise_for({"op": "read", "ok": None, "errno": None, "error": "no answer in 2 s", "value": None}, "c", "/p")
    raise_for({"op": "read", "ok": True, "errno": None, "error": None, "value": ""}, "c", "/p")


def test_every_op_through_the_client_program(tmp_path):
    files = MountFiles.of(ThisHost(), tmp_path)
    files.mkdir("d")
    files.write("d/a", b"hello", mtime=1_000_000)
    assert files.read("d/a") == b"hello" and files.read("d/a", uncached=False) == b"hello"
    st = files.stat("d/a")
    assert st["size"] == 5 and st["mtime_ns"] == 1_000_000 * 10**9 and not st["is_dir"]
    files.utime("d/a", 2_000_000)
    assert os.stat(tmp_path / "d/a").st_mtime == 2_000_000
    assert files.write_many({"d/f0": b"y" * 8192, "d/f1": b"y"}) == (2, None)
    files.sub("d").put("k", b"v1")
    assert (tmp_path / "d/k").read_bytes() == b"v1"
    assert files.listdir("d") == ["a", "f0", "f1", "k"] and files.stat("d")["is_dir"]
    sha, missing = files.call([{"op": "sha256", "path": "d/a"}, {"op": "sha256", "path": "d/nope"}])
    assert sha["value"] == hashlib.sha256(b"hello").hexdigest() and missing["errno"] == errno.ENOENT
    files.unlink("d/f1")
    assert files.listdir("d") == ["a", "f0", "k"]


def test_a_batch_stops_at_its_first_failure_and_says_which(tmp_path):
    """The negative control: a file in a directory that does not exist fails ENOENT, as data."""
    written, failed = MountFiles.of(ThisHost(), tmp_path).write_many(dict.fromkeys(["a", "missing/b", "c"], b"z"))
    assert written == 1 and failed["errno"] == errno.ENOENT and failed["op"] == "write"
    assert sorted(os.listdir(tmp_path)) == ["a"]
    with pytest.raises(FileNotFoundError, match=f"client here:{tmp_path}/nope"):
        MountFiles.of(ThisHost(), tmp_path).read("nope")


def test_a_file_store_puts_atomically_and_says_whether_a_failed_put_touched_the_key(tmp_path):
    store = FileStore(tmp_path)
    assert store.read("k") is None
    store.write("k", "v")
    assert store.read("k") == "v" and os.listdir(tmp_path) == ["k"]  # no temporary file left
    with pytest.raises(Outcome) as failed:
        FileStore(tmp_path / "gone").write("k", "v")
    assert failed.value.error == "ENOENT" and failed.value.definite  # the create failed: key untouched
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "k").mkdir()  # a rename onto a directory fails, at the rename stage
    with pytest.raises(Outcome) as renamed:
        FileStore(tmp_path / "dir").write("k", "v")
    assert renamed.value.error == "EISDIR" and not renamed.value.definite


def _program_pid(files: MountFiles) -> int:
    """The pid of the client program that answered (the first field of its /proc/self/stat)."""
    return int(files.read("/proc/self/stat", uncached=False).split()[0])


def test_one_client_program_answers_a_clients_many_calls(tmp_path):
    host = ThisHost()
    files = MountFiles.of(host, tmp_path)
    first = _program_pid(files)
    for i in range(20):
        files.write(f"f{i}", b"x")
    assert _program_pid(MountFiles.of(host, tmp_path)) == first  # another MountFiles of the same host too
    assert _program_pid(MountFiles.of(ThisHost(), tmp_path)) != first  # another host has its own


def test_a_client_program_that_ended_is_an_error_and_the_next_call_starts_another(tmp_path):
    """The negative control: a program killed between calls is reported, naming the client; it is
    never handed a request again."""
    files = MountFiles.of(ThisHost(), tmp_path)
    pid = _program_pid(files)
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(HarnessError, match="client here gave no file-op answer: python3 in this host ended"):
        files.write("a", b"x")
    assert _program_pid(files) != pid
    files.write("a", b"x")
    assert (tmp_path / "a").read_bytes() == b"x"


def test_a_client_program_leaves_when_its_input_ends_or_stays_quiet():
    serve = ["python3", "-c", SCRIPT, json.dumps({"op": "serve", "idle_s": 0.5})]
    quiet = ProcessStream(serve, "python3", "this host")
    with pytest.raises(StreamEnded, match="exit 0"):
        quiet.receive(10.0)  # no request: it leaves after 0.5 s
    quiet.close()
    closed = ThisHost().open_stream(serve)
    closed.send(json.dumps({"op": "files", "calls": [], "timeout": 1.0}))
    assert closed.receive(10.0) == "[]" and closed.receive(0.1) is None  # answered, then waiting
    closed.close()  # its stdin ends: it leaves at once, not after being killed
    assert closed._proc.returncode == 0
