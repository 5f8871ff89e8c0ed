"""Running a command in a pod: the Kubernetes counterpart of harness.runner.run.

Exec goes through the official client's websocket stream (`kubernetes.stream.stream`), the same
channel protocol `kubectl exec` uses. It returns the same CommandResult as local commands, with
the exit code taken from the API server's status channel, and the same CommandError on failure,
so the gluster CLI and every caller above it work unchanged on a pod.
"""
from __future__ import annotations

import json
import select
import threading
import time
from typing import Any, Protocol, Sequence

from ...errors import CommandError, HarnessError, StreamEnded
from ...runner import CommandResult

STDOUT, STDERR, ERROR = 1, 2, 3
# Exec over the v4 protocol (Kubernetes < 1.29) cannot close stdin, so a command reading it would wait
# for ever: input goes in as an argument instead, piped to the command by a shell in the pod.
STDIN_FROM_ARGUMENT = 'input=$1; shift; printf "%s" "$input" | "$@"'
MAX_INPUT_BYTES = 100_000  # one argument may hold 128 KiB (MAX_ARG_STRLEN)


class ExecRunner(Protocol):
    """Runs argv in a pod; the seam tests and other transports plug into."""

    def __call__(self, namespace: str, pod: str, argv: Sequence[str], *, timeout: float, input: str | None = None,
                 check: bool = True, container: str | None = None, where: str = "") -> CommandResult: ...

    def open_stream(self, namespace: str, pod: str, argv: Sequence[str], *, what: str, where: str) -> "PodStream":
        """Start argv in the pod and keep it running, spoken to in lines (harness.control.Stream)."""


def exit_code_from_status(raw: str) -> tuple[int, str]:
    """(exit code, message) from the error channel's v1.Status JSON.

    Success -> 0. NonZeroExitCode -> the ExitCode cause. Any other failure (executable not found,
    container gone) -> 126 with the server's message, so it is never mistaken for success.
    An empty channel means the stream ended without a verdict: -1, unknown.
    """
    if not raw.strip():
        return -1, "exec stream closed without an exit status (pod or node gone?)"
    try:
        status = json.loads(raw)
    except ValueError:
        return -1, f"exec status is not JSON: {raw[:200]!r}"
    if status.get("status") == "Success":
        return 0, ""
    for cause in (status.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "ExitCode":
            try:
                return int(cause.get("message", "")), status.get("message", "")
            except ValueError:
                break
    return 126, status.get("message") or status.get("reason") or "exec failed"


class PodExec:
    """ExecRunner over the Kubernetes API (CoreV1Api.connect_get_namespaced_pod_exec)."""

    def __init__(self, core_api: Any) -> None:
        self.core = core_api
        self._per_thread = threading.local()

    def _exec_api(self) -> object:
        """This thread's own CoreV1Api for exec. `stream` swaps its ApiClient's `request` for a websocket
        call while it runs and puts back what it found: on the shared client, concurrent execs (a history
        client per thread, a probe beside a fault) left the websocket call in place, and every REST call
        after it (listing pods) failed "Handshake status 200 OK"."""
        api = getattr(self._per_thread, "api", None)
        if api is None:
            shared = getattr(self.core, "api_client", None)
            if shared is None:
                return self.core  # a stand-in without an ApiClient: nothing shared to protect
            from kubernetes import client

            api = self._per_thread.api = client.CoreV1Api(client.ApiClient(shared.configuration))
        return api

    def _connect(self, namespace: str, pod: str, kwargs: dict, where: str, argv: Sequence[str]) -> Any:
        from kubernetes.client.exceptions import ApiException
        from kubernetes.stream import stream

        try:
            return stream(self._exec_api().connect_get_namespaced_pod_exec, pod, namespace, **kwargs)
        except (ApiException, AttributeError, OSError) as exc:
            # A refused websocket handshake (404: no such pod) surfaces from the client as an
            # ApiException, or in some client versions as an AttributeError while it decodes the
            # absent body of that exception; both mean the same here.
            cause = exc.__context__ if isinstance(exc, AttributeError) and exc.__context__ else exc
            reason = getattr(cause, "reason", None) or str(cause)
            raise HarnessError(
                f"cannot exec in {where} ({namespace}/{pod}): {reason}; is the pod running? "
                f"(command: {' '.join(str(a)[:80] for a in argv)})"
            ) from None

    def open_stream(self, namespace: str, pod: str, argv: Sequence[str], *, what: str, where: str) -> "PodStream":
        kwargs = {"command": [str(a) for a in argv], "stdin": True, "stdout": True, "stderr": True, "tty": False,
                  "_preload_content": False}
        return PodStream(self._connect(namespace, pod, kwargs, where, argv), what, where)

    def __call__(self, namespace: str, pod: str, argv: Sequence[str], *, timeout: float, input: str | None = None,
                 check: bool = True, container: str | None = None, where: str = "") -> CommandResult:
        argv = tuple(str(a) for a in argv)
        where = where or f"pod {namespace}/{pod}"
        start = time.monotonic()
        command = list(argv)
        if input is not None:
            if len(input.encode()) > MAX_INPUT_BYTES:
                raise HarnessError(f"input for {' '.join(argv)} in {where} is {len(input.encode())} bytes; a pod exec "
                                   f"takes at most {MAX_INPUT_BYTES}: write it to a file in the pod instead")
            command = ["sh", "-c", STDIN_FROM_ARGUMENT, "sh", input, *argv]
        kwargs = {"command": command, "stdin": False, "stdout": True, "stderr": True, "tty": False,
                  "_preload_content": False, "_request_timeout": timeout}
        if container:
            kwargs["container"] = container
        ws = self._connect(namespace, pod, kwargs, where, argv)
        frames = Frames(ws)
        try:
            deadline = start + timeout
            timed_out = False
            while frames.open:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    timed_out = True
                    break
                frames.read(remaining)
        finally:
            ws.close()
        out, err, status_raw = frames.take(STDOUT), frames.take(STDERR), frames.take(ERROR)
        if timed_out:
            code, note = -9, f"(timed out after {timeout} s)"
        else:
            code, note = exit_code_from_status(status_raw)
        if note and code != 0:
            err = f"{err}\n{note}" if err else note
        result = CommandResult(argv, code, out, err, time.monotonic() - start)
        if check and not result.ok:
            raise CommandError(result, where)
        return result


class Frames:
    """An exec websocket's channels, read a frame at a time here rather than by WSClient.update: that
    polls the raw socket, which cannot see frames TLS has already decrypted
    (kubernetes-client/python#2414; fixed in kubernetes 37, which this project cannot take), so each
    such frame waited for the next network event; a 2 MB answer never came within 90 s."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.open = True
        self.channels: dict[int, list[str]] = {STDOUT: [], STDERR: [], ERROR: []}

    def read(self, timeout: float) -> None:
        """At most one frame into the channels, waiting up to timeout for it; `open` goes False when
        the websocket closes."""
        import ssl

        from websocket import ABNF, WebSocketException

        raw = self.ws.sock.sock
        buffered = isinstance(raw, ssl.SSLSocket) and raw.pending() > 0
        if not buffered and not select.select([raw], [], [], timeout)[0]:
            return
        try:
            opcode, frame = self.ws.sock.recv_data_frame(True)
        except (OSError, WebSocketException):
            self.open = False
            return
        if opcode == ABNF.OPCODE_CLOSE:
            self.open = False
        elif opcode in (ABNF.OPCODE_TEXT, ABNF.OPCODE_BINARY) and len(frame.data) > 1 \
                and frame.data[0] in self.channels:
            self.channels[frame.data[0]].append(frame.data[1:].decode(errors="replace"))

    def take(self, channel: int) -> str:
        """What the channel has received since the last take."""
        data = "".join(self.channels[channel])
        self.channels[channel].clear()
        return data


class PodStream:
    """A program kept running in a pod over one exec websocket (harness.control.Stream). Over exec's
    v4 protocol stdin cannot be closed: the program leaves when the websocket goes, or when idle."""

    def __init__(self, ws: Any, what: str, where: str) -> None:
        self._frames, self.what, self.where = Frames(ws), what, where
        self._pending = ""

    def send(self, line: str) -> None:
        if not self._frames.open or not self._frames.ws.is_open():
            raise self._ended()
        try:
            self._frames.ws.write_stdin(line + "\n")
        except OSError:
            raise self._ended() from None

    def receive(self, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while "\n" not in self._pending:
            if not self._frames.open:
                raise self._ended()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self._frames.read(remaining)
            self._pending += self._frames.take(STDOUT)
        line, self._pending = self._pending.split("\n", 1)
        return line

    def close(self) -> None:
        self._frames.open = False
        self._frames.ws.close()

    def _ended(self) -> StreamEnded:
        code, note = exit_code_from_status(self._frames.take(ERROR))
        detail = "; ".join(t for t in (self._frames.take(STDERR).strip()[-2000:], note) if t)
        return StreamEnded(f"{self.what} in {self.where} ended (exit {code})" + (f": {detail}" if detail else ""))
