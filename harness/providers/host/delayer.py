"""The NFQUEUE userspace delayer: holds every queued packet for a fixed delay, then accepts it.

This kernel has no netem, so latency faults queue a host's packets to NFQUEUE (with
`--queue-bypass` / nft `bypass`: packets pass untouched whenever no delayer is bound) and this
process releases each one `delay` after it arrived. Run inside the target namespace:

    python delayer.py --queue N --delay-ms D --pid-file P --log L

It daemonises: the command returns 0 only once the child is bound to the queue and has written
its pid file (so the caller knows the delay is in force), or 1 with the reason. The child exits
on SIGTERM/SIGINT and accepts whatever it still holds, so stopping it never drops packets.

Standard library plus NetfilterQueue only, because it runs as its own process.
"""
from __future__ import annotations

import argparse
import os
import select
import signal
import sys
import time
from collections import deque

MAX_DELAY_MS = 10_000.0
QUEUE_MAX_LEN = 16384  # packets in flight: ~5 ms at a few Gbit/s of small packets


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queue", type=int, required=True, help="NFQUEUE number to bind (0..65535)")
    parser.add_argument("--delay-ms", type=float, required=True, help="delay added to every packet, milliseconds")
    parser.add_argument("--pid-file", required=True, help="written (atomically) once bound")
    parser.add_argument("--log", required=True, help="where the daemon's output goes")
    parser.add_argument("--foreground", action="store_true", help="do not daemonise (debugging)")
    args = parser.parse_args(argv)
    if not 0 <= args.queue <= 65535:
        parser.error(f"--queue {args.queue} outside 0..65535")
    if not 0 <= args.delay_ms <= MAX_DELAY_MS:
        parser.error(f"--delay-ms {args.delay_ms} outside 0..{MAX_DELAY_MS}")
    return args


def serve(queue: int, delay_s: float, pid_file: str, ready_fd: int | None) -> int:
    """Bind, report readiness, then release packets in arrival order once their delay is up."""
    from netfilterqueue import COPY_META, NetfilterQueue

    pending: deque = deque()  # (due monotonic time, packet); FIFO because the delay is constant
    stopping = False

    def on_packet(pkt) -> None:  # noqa: ANN001 - netfilterqueue.Packet
        pending.append((time.monotonic() + delay_s, pkt))

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    nfq = NetfilterQueue()
    nfq.bind(queue, on_packet, max_len=QUEUE_MAX_LEN, mode=COPY_META)
    fd = nfq.get_fd()
    tmp = f"{pid_file}.tmp"
    with open(tmp, "w") as fh:
        fh.write(f"{os.getpid()}\n")
    os.replace(tmp, pid_file)
    if ready_fd is not None:
        os.write(ready_fd, b"ok\n")
        os.close(ready_fd)
    print(f"delayer pid {os.getpid()} bound to queue {queue}, delay {delay_s * 1000:.3f} ms", flush=True)
    try:
        while not stopping:
            now = time.monotonic()
            while pending and pending[0][0] <= now:
                pending.popleft()[1].accept()
            wait = max(pending[0][0] - now, 0.0) if pending else 0.5
            try:
                readable, _, _ = select.select([fd], [], [], wait)
            except InterruptedError:
                continue
            if readable:
                nfq.run(block=False)
    finally:
        while pending:
            pending.popleft()[1].accept()
        nfq.unbind()
        try:
            os.unlink(pid_file)
        except FileNotFoundError:
            pass
    return 0


def daemonise(args: argparse.Namespace) -> int:
    read_end, write_end = os.pipe()
    if os.fork() > 0:  # the caller's process: wait for the child to say it is bound
        os.close(write_end)
        with os.fdopen(read_end) as fh:
            answer = fh.read()
        if answer.startswith("ok"):
            return 0
        print(f"delayer did not start: {answer.strip() or 'no answer'}; see {args.log}", file=sys.stderr)
        return 1
    os.close(read_end)
    os.setsid()
    # Release the caller's pipes at once: its runner waits for them to close.
    log = os.open(args.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    try:
        code = serve(args.queue, args.delay_ms / 1000.0, args.pid_file, write_end)
    except BaseException as exc:  # report why to the waiting parent, then die
        try:
            os.write(write_end, f"{type(exc).__name__}: {exc}\n".encode())
        except OSError:
            pass
        raise
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.foreground:
        return serve(args.queue, args.delay_ms / 1000.0, args.pid_file, None)
    return daemonise(args)


if __name__ == "__main__":
    sys.exit(main())
