"""A FAKE Kubernetes API server for tests: a small real HTTP server on 127.0.0.1.

It exists because no real API server can run on the build machines. The official `kubernetes`
Python client talks to it over HTTP exactly as to a real one (same URLs, JSON bodies, label and
field selectors, Status errors, and pod exec over a websocket with the v4/v5 channel protocols).

It holds namespaces, nodes, pods, services, daemonsets and statefulsets in memory, and plays two controllers: a DaemonSet puts one
Ready pod on each node matching its nodeSelector, a StatefulSet runs name-0..N-1; a deleted pod
of either comes back (a new pod, new uid) after `recreate_delay_s`. What a pod does when exec'd
is decided by `exec_handler` (set by the test): it may answer from a table, or run the command
in a real local gluster node. Nothing here is a real Kubernetes: schedulers, kubelets, probes and
admission do not exist, and the fake says so by its name.
"""
from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import secrets
import socket
import struct
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs, urlparse

import yaml

# resource plural -> (apiVersion, kind, namespaced)
RESOURCES: dict[str, tuple[str, str, bool]] = {
    "namespaces": ("v1", "Namespace", False),
    "nodes": ("v1", "Node", False),
    "pods": ("v1", "Pod", True),
    "services": ("v1", "Service", True),
    "daemonsets": ("apps/v1", "DaemonSet", True),
    "statefulsets": ("apps/v1", "StatefulSet", True),
}
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455


@dataclass(frozen=True)
class ExecCall:
    """One exec request as the fake received it."""

    namespace: str
    pod: str
    container: str | None
    node: str
    argv: tuple[str, ...]
    stdin: bytes | None


@dataclass(frozen=True)
class ExecReply:
    returncode: int
    stdout: bytes = b""
    stderr: bytes = b""


ExecHandler = Callable[[ExecCall], ExecReply]


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _status(code: int, reason: str, message: str) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}


def parse_selector(text: str) -> list[tuple[str, str, str | None]]:
    """'a=b,c!=d,e,!f' -> [(key, op, value)]; ops '=', '!=', 'exists', '!exists'."""
    terms = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        if "!=" in part:
            k, v = part.split("!=", 1)
            terms.append((k.strip(), "!=", v.strip()))
        elif "=" in part:
            k, v = part.replace("==", "=").split("=", 1)
            terms.append((k.strip(), "=", v.strip()))
        elif part.startswith("!"):
            terms.append((part[1:], "!exists", None))
        else:
            terms.append((part, "exists", None))
    return terms


def selector_matches(terms: list[tuple[str, str, str | None]], values: dict[str, str]) -> bool:
    for key, op, value in terms:
        present = key in values
        if op == "=" and values.get(key) != value:
            return False
        if op == "!=" and present and values.get(key) == value:
            return False
        if op == "exists" and not present:
            return False
        if op == "!exists" and present:
            return False
    return True


def _field_values(obj: dict) -> dict[str, str]:
    return {
        "metadata.name": obj["metadata"]["name"],
        "metadata.namespace": obj["metadata"].get("namespace", ""),
        "spec.nodeName": (obj.get("spec") or {}).get("nodeName", ""),
        "status.phase": (obj.get("status") or {}).get("phase", ""),
    }


def _merge(base: Any, patch: Any) -> Any:
    """JSON merge patch (RFC 7386), which also covers the strategic merges the harness sends."""
    if not isinstance(patch, dict) or not isinstance(base, dict):
        return copy.deepcopy(patch)
    out = dict(base)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = _merge(base.get(k), v)
    return out


class FakeKubeApi:
    """The fake server and its in-memory state. Use as a context manager (start/stop)."""

    def __init__(self, recreate_delay_s: float = 0.2) -> None:
        self.recreate_delay_s = recreate_delay_s
        self.exec_handler: ExecHandler | None = None
        self.requests: list[tuple[str, str]] = []  # (method, path) in arrival order
        self.exec_calls: list[ExecCall] = []
        self._store: dict[tuple[str, str, str], dict] = {}  # (resource, namespace, name) -> object
        self._lock = threading.RLock()
        self._rv = 0
        self._timers: list[threading.Timer] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.ws_protocols = ("v5.channel.k8s.io", "v4.channel.k8s.io")  # in preference order
        self.pod_ips: dict[str, str] = {}  # pod name -> IP to give it (else a made-up 10.244.x.y)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> str:
        fake = self

        class Handler(_Handler):
            api = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-kube-api", daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        for t in self._timers:
            t.cancel()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "FakeKubeApi":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "fake API server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def write_kubeconfig(self, path: Path, context: str = "fake", extra_contexts: tuple[str, ...] = ()) -> Path:
        """A kubeconfig pointing at this fake (plain HTTP, no credentials)."""
        contexts = [context, *extra_contexts]
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": context,
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "fake", "user": {}}],
            "contexts": [{"name": c, "context": {"cluster": "fake", "user": "fake"}} for c in contexts],
        }
        path.write_text(yaml.safe_dump(config))
        return path

    # -- state helpers for tests -----------------------------------------------------------------
    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def put(self, resource: str, obj: dict) -> dict:
        """Create or overwrite an object directly (test set-up), then reconcile controllers."""
        api_version, kind, namespaced = RESOURCES[resource]
        obj = copy.deepcopy(obj)
        obj.setdefault("apiVersion", api_version)
        obj.setdefault("kind", kind)
        meta = obj.setdefault("metadata", {})
        meta.setdefault("uid", secrets.token_hex(8))
        meta.setdefault("creationTimestamp", _now())
        meta.setdefault("labels", {})
        with self._lock:
            meta["resourceVersion"] = self._next_rv()
            self._store[(resource, meta.get("namespace", "") if namespaced else "", meta["name"])] = obj
            self._reconcile()
        return obj

    def get(self, resource: str, name: str, namespace: str = "") -> dict | None:
        with self._lock:
            obj = self._store.get((resource, namespace, name))
            return copy.deepcopy(obj) if obj else None

    def list(self, resource: str, namespace: str | None = None) -> list[dict]:
        with self._lock:
            return [copy.deepcopy(o) for (r, ns, _), o in sorted(self._store.items())
                    if r == resource and (namespace is None or ns == namespace)]

    def add_node(self, name: str, address: str, labels: dict[str, str] | None = None) -> dict:
        return self.put("nodes", {
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
            "status": {"addresses": [{"type": "InternalIP", "address": address}, {"type": "Hostname", "address": name}],
                       "conditions": [{"type": "Ready", "status": "True"}]},
        })

    def set_node_ready(self, name: str, ready: bool) -> None:
        """What a kubelet would report: node Ready and its pods' Ready condition follow the node."""
        with self._lock:
            node = self._store[("nodes", "", name)]
            node["status"]["conditions"] = [{"type": "Ready", "status": "True" if ready else "Unknown"}]
            for (r, _, _), pod in self._store.items():
                if r == "pods" and pod["spec"].get("nodeName") == name:
                    pod["status"]["conditions"] = [{"type": "Ready", "status": "True" if ready else "False"}]

    # -- controllers ----------------------------------------------------------------------------
    def _nodes(self) -> list[dict]:
        return [o for (r, _, _), o in sorted(self._store.items()) if r == "nodes"]

    def _node_address(self, node: dict) -> str:
        return next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")

    def _pods_of(self, owner_kind: str, owner: dict) -> list[dict]:
        ns, uid = owner["metadata"].get("namespace", ""), owner["metadata"]["uid"]
        return [o for (r, pns, _), o in self._store.items() if r == "pods" and pns == ns
                and any(ref["uid"] == uid for ref in o["metadata"].get("ownerReferences", []))]

    def _make_pod(self, owner_kind: str, owner: dict, name: str, node: dict) -> None:
        template = copy.deepcopy(owner["spec"]["template"])
        spec = template["spec"]
        spec["nodeName"] = node["metadata"]["name"]
        host_ip = self._node_address(node)
        pod_ip = host_ip if spec.get("hostNetwork") else \
            self.pod_ips.get(name, f"10.244.{len(self._store) % 250}.{self._rv % 250 + 2}")
        ns = owner["metadata"].get("namespace", "")
        pod = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": template["metadata"].get("labels", {}),
                         "uid": secrets.token_hex(8), "creationTimestamp": _now(), "resourceVersion": self._next_rv(),
                         "ownerReferences": [{"apiVersion": owner["apiVersion"], "kind": owner_kind,
                                              "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
                                              "controller": True}]},
            "spec": spec,
            "status": {"phase": "Running", "hostIP": host_ip, "podIP": pod_ip,
                       "conditions": [{"type": "Ready", "status": "True"}]},
        }
        self._store[("pods", ns, name)] = pod

    def _reconcile(self) -> None:
        for (r, _, _), owner in list(self._store.items()):
            if r == "daemonsets":
                selector = owner["spec"]["template"]["spec"].get("nodeSelector", {})
                have = {p["spec"]["nodeName"] for p in self._pods_of("DaemonSet", owner)}
                for node in self._nodes():
                    labels = node["metadata"].get("labels", {})
                    if all(labels.get(k) == v for k, v in selector.items()) and node["metadata"]["name"] not in have:
                        self._make_pod("DaemonSet", owner, f"{owner['metadata']['name']}-{secrets.token_hex(3)}", node)
            elif r == "statefulsets":
                have = {p["metadata"]["name"] for p in self._pods_of("StatefulSet", owner)}
                nodes = [n for n in self._nodes() if "node-role.kubernetes.io/control-plane" not in n["metadata"]["labels"]]
                for i in range(owner["spec"].get("replicas", 1)):
                    name = f"{owner['metadata']['name']}-{i}"
                    if name not in have and nodes:
                        self._make_pod("StatefulSet", owner, name, nodes[i % len(nodes)])

    def _schedule_reconcile(self) -> None:
        def later() -> None:
            with self._lock:
                self._reconcile()

        timer = threading.Timer(self.recreate_delay_s, later)
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    # -- REST -----------------------------------------------------------------------------------
    def route(self, path: str) -> tuple[str, str, str | None, str | None]:
        """(resource, namespace, name, subresource) of an API path; KeyError when unknown."""
        parts = [p for p in path.split("/") if p]
        if parts[:2] == ["api", "v1"]:
            rest = parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            rest = parts[3:]
        else:
            raise KeyError(path)
        namespace = ""
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        resource = rest[0]
        if resource not in RESOURCES:
            raise KeyError(path)
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        return resource, namespace, name, sub

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> tuple[int, dict]:
        with self._lock:
            self.requests.append((method, path))
            try:
                resource, namespace, name, sub = self.route(path)
            except (KeyError, IndexError):
                return 404, _status(404, "NotFound", f"the server could not find the requested resource ({path})")
            api_version, kind, namespaced = RESOURCES[resource]
            key_ns = namespace if namespaced else ""
            if method == "GET" and name is None:
                items = [o for (r, ns, _), o in sorted(self._store.items())
                         if r == resource and (not namespace or ns == namespace)]
                if "labelSelector" in query:
                    terms = parse_selector(query["labelSelector"][0])
                    items = [o for o in items if selector_matches(terms, o["metadata"].get("labels", {}))]
                if "fieldSelector" in query:
                    terms = parse_selector(query["fieldSelector"][0])
                    items = [o for o in items if selector_matches(terms, _field_values(o))]
                return 200, {"apiVersion": api_version, "kind": f"{kind}List",
                             "metadata": {"resourceVersion": str(self._rv)}, "items": copy.deepcopy(items)}
            key = (resource, key_ns, name or "")
            if method == "POST" and name is None:
                obj = json.loads(body)
                obj_name = obj.get("metadata", {}).get("name")
                if namespaced:
                    if ("namespaces", "", namespace) not in self._store:
                        return 404, _status(404, "NotFound", f'namespaces "{namespace}" not found')
                    obj["metadata"]["namespace"] = namespace
                if (resource, key_ns, obj_name) in self._store:
                    return 409, _status(409, "AlreadyExists", f'{resource} "{obj_name}" already exists')
                if resource == "namespaces":
                    obj.setdefault("status", {"phase": "Active"})
                return 201, self.put(resource, obj)
            obj = self._store.get(key)
            if obj is None:
                return 404, _status(404, "NotFound", f'{resource} "{name}" not found')
            if method == "GET":
                return 200, copy.deepcopy(obj)
            if method == "PUT":
                new = json.loads(body)
                new["metadata"]["uid"] = obj["metadata"]["uid"]
                return 200, self.put(resource, new)
            if method == "PATCH":
                return 200, self.put(resource, _merge(obj, json.loads(body)))
            if method == "DELETE":
                del self._store[key]
                if resource == "namespaces":
                    for k in [k for k in self._store if k[1] == name and RESOURCES[k[0]][2]]:
                        del self._store[k]
                if resource == "pods" and obj["metadata"].get("ownerReferences"):
                    self._schedule_reconcile()
                return 200, {**copy.deepcopy(obj), "status": {**obj.get("status", {}), "phase": "Terminating"}} \
                    if resource != "namespaces" else {"kind": "Status", "apiVersion": "v1", "status": "Success"}
            return 405, _status(405, "MethodNotAllowed", f"{method} not supported by the fake")

    def pod_for_exec(self, namespace: str, name: str) -> dict | None:
        with self._lock:
            return copy.deepcopy(self._store.get(("pods", namespace, name)))


class _Handler(BaseHTTPRequestHandler):
    api: FakeKubeApi
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read fake.requests instead
        pass

    def _reply(self, code: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _dispatch(self, method: str) -> None:
        parsed = urlparse(self.path)
        query = parse_qs(parsed.query)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if parsed.path.endswith("/exec") and self.headers.get("Upgrade", "").lower() == "websocket":
            self._exec(parsed.path, query)
            return
        code, payload = self.api.handle(method, parsed.path, query, body)
        self._reply(code, payload)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # -- pod exec over a websocket (channel.k8s.io) ---------------------------------------------
    def _exec(self, path: str, query: dict[str, list[str]]) -> None:
        m = re.match(r"^/api/v1/namespaces/([^/]+)/pods/([^/]+)/exec$", path)
        pod = self.api.pod_for_exec(m.group(1), m.group(2)) if m else None
        with self.api._lock:
            self.api.requests.append(("EXEC", path))
        if pod is None:
            self._reply(404, _status(404, "NotFound", f"pods {m.group(2) if m else path!r} not found"))
            return
        offered = [p.strip() for p in self.headers.get("Sec-WebSocket-Protocol", "").split(",")]
        protocol = next((p for p in self.api.ws_protocols if p in offered), None)
        if protocol is None:
            self._reply(400, _status(400, "BadRequest", f"no supported subprotocol in {offered}"))
            return
        accept = base64.b64encode(hashlib.sha1((self.headers["Sec-WebSocket-Key"] + WS_GUID).encode()).digest())
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept.decode())
        self.send_header("Sec-WebSocket-Protocol", protocol)
        self.end_headers()
        self.wfile.flush()
        stdin = None
        if query.get("stdin", ["false"])[0].lower() == "true":
            stdin = self._read_stdin(protocol)
        call = ExecCall(m.group(1), m.group(2), query.get("container", [None])[0], pod["spec"].get("nodeName", ""),
                        tuple(query.get("command", [])), stdin)
        with self.api._lock:
            self.api.exec_calls.append(call)
        handler = self.api.exec_handler
        reply = handler(call) if handler else ExecReply(126, b"", b"fake API: no exec handler set\n")
        if reply.stdout:
            self._ws_send(b"\x01" + reply.stdout)
        if reply.stderr:
            self._ws_send(b"\x02" + reply.stderr)
        if reply.returncode == 0:
            status = {"metadata": {}, "status": "Success"}
        else:
            status = {"metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
                      "message": f"command terminated with non-zero exit code: exit status {reply.returncode}",
                      "details": {"causes": [{"reason": "ExitCode", "message": str(reply.returncode)}]}}
        self._ws_send(b"\x03" + json.dumps(status).encode())
        self._ws_send(struct.pack("!H", 1000), opcode=0x8)
        self.close_connection = True

    def _read_stdin(self, protocol: str) -> bytes:
        """Collect channel-0 frames until the client closes stdin (v5) or the websocket."""
        data = b""
        while True:
            frame = self._ws_recv()
            if frame is None:
                return data
            opcode, payload = frame
            if opcode == 0x8:
                return data
            if not payload:
                continue
            if payload[0] == 255 and protocol.startswith("v5"):  # v5: close channel payload[1]
                return data
            if payload[0] == 0:
                data += payload[1:]

    def _ws_recv(self) -> tuple[int, bytes] | None:
        head = self.rfile.read(2)
        if len(head) < 2:
            return None
        opcode, length = head[0] & 0x0F, head[1] & 0x7F
        if length == 126:
            length = struct.unpack("!H", self.rfile.read(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", self.rfile.read(8))[0]
        mask = self.rfile.read(4) if head[1] & 0x80 else b"\0\0\0\0"
        payload = bytearray(self.rfile.read(length))
        for i in range(len(payload)):
            payload[i] ^= mask[i % 4]
        return opcode, bytes(payload)

    def _ws_send(self, payload: bytes, opcode: int = 0x2) -> None:
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
        try:
            self.wfile.write(head + payload)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, socket.error):
            pass


def table_handler(answers: dict[tuple[str, ...], ExecReply], default: ExecReply | None = None) -> ExecHandler:
    """An exec handler answering argv prefixes from a table (longest prefix wins)."""

    def handle(call: ExecCall) -> ExecReply:
        for n in range(len(call.argv), 0, -1):
            if call.argv[:n] in answers:
                return answers[call.argv[:n]]
        return default or ExecReply(127, b"", f"fake pod: {call.argv[0]}: command not found\n".encode())

    return handle


__all__ = ["FakeKubeApi", "ExecCall", "ExecReply", "ExecHandler", "FakeGlusterPool", "peer_status_xml", "table_handler", "RESOURCES"]

def peer_status_xml(peers: list[tuple[str, bool]]) -> str:
    """`gluster peer status --xml` as glusterd 10 prints it, for (address, connected) pairs."""
    body = "".join(
        f"<peer><uuid>{hashlib.md5(a.encode()).hexdigest()}</uuid><hostname>{a}</hostname>"
        f"<hostnames><hostname>{a}</hostname></hostnames><connected>{int(c)}</connected><state>3</state>"
        f"<stateStr>Peer in Cluster</stateStr></peer>"
        for a, c in peers
    )
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<cliOutput><opRet>0</opRet><opErrno>0</opErrno>'
            f"<opErrstr/><peerStatus>{body}</peerStatus></cliOutput>\n")


class FakeGlusterPool:
    """A FAKE answer table for gluster CLI calls in pods, for tests of provider logic only.

    It knows which node addresses are pooled and which are cut off, and answers `peer probe`,
    `peer status` and `pool list` as glusterd would. Tests of real gluster behaviour run the pods'
    commands in real local gluster nodes instead (tests/test_k8s_on_local_gluster.py).
    """

    def __init__(self, fake: FakeKubeApi) -> None:
        self.fake = fake
        self.pooled: set[str] = set()
        self.down: set[str] = set()  # addresses whose glusterd is unreachable
        self.probed_as: dict[str, str] = {}  # address -> the host name a probe gave

    def _address(self, node: str) -> str:
        obj = self.fake.get("nodes", node)
        assert obj is not None, node
        return next(a["address"] for a in obj["status"]["addresses"] if a["type"] == "InternalIP")

    def __call__(self, call: ExecCall) -> ExecReply:
        me = self._address(call.node)
        argv = [a for a in call.argv if a not in ("--mode=script", "--xml")]
        if argv[:1] != ["gluster"]:
            return ExecReply(127, b"", f"fake pod: {call.argv[0]}: not faked\n".encode())
        if argv[1:3] == ["peer", "probe"]:
            address = self._address(argv[3]) if self.fake.get("nodes", argv[3]) else argv[3]
            self.pooled |= {me, address}
            self.probed_as[address] = argv[3]  # glusterd lists a peer by the name it was probed with
            return ExecReply(0, b'<?xml version="1.0"?><cliOutput><opRet>0</opRet><opErrno>0</opErrno>'
                                b"<opErrstr/><output>success</output></cliOutput>")
        if argv[1:3] == ["peer", "status"]:
            peers = [(self.probed_as.get(a, a), a not in self.down and me not in self.down)
                     for a in sorted(self.pooled) if a != me]
            return ExecReply(0, peer_status_xml(peers).encode())
        if argv[1:3] == ["pool", "list"]:
            return ExecReply(0 if me not in self.down else 1, b"UUID Hostname State\n")
        return ExecReply(1, b"", f"fake gluster: {' '.join(argv[1:])} not faked\n".encode())


def seed_gluster_nodes(fake: FakeKubeApi, nodes: list[tuple[str, str, str]], storage_label: tuple[str, str] = (
        "storagenode", "glusterfs"), control_plane: bool = True) -> None:
    """Register nodes (name, address, zone) labelled as storage nodes, plus a control-plane node."""
    if control_plane:
        fake.add_node("control-plane", "198.18.250.1", {"node-role.kubernetes.io/control-plane": ""})
    for name, address, zone in nodes:
        fake.add_node(name, address, {"topology.kubernetes.io/zone": zone, storage_label[0]: storage_label[1]})


class FakeKindAndDocker:
    """A FAKE `kind` and `docker` CLI (an injected command runner) that registers nodes in a FakeKubeApi.

    `kind create cluster --config F` reads the generated config and adds a control-plane node and
    one node per worker with the config's labels, as kind would; `docker kill/start/pause/unpause`
    change a node container's state and make the fake node NotReady/Ready (and, through `pool`,
    its glusterd unreachable/reachable). Every argv is logged in `calls`.
    """

    def __init__(self, fake: FakeKubeApi, pool: "FakeGlusterPool | None" = None, engine_ok: bool = True) -> None:
        self.fake, self.pool, self.engine_ok = fake, pool, engine_ok
        self.calls: list[tuple[str, ...]] = []
        self.clusters: list[str] = []
        self.containers: dict[str, str] = {}  # node name -> docker State.Status
        self.subnet = "198.18.77"

    def __call__(self, argv: Any, *, timeout: float, check: bool = True, where: str = "", **kw: Any) -> Any:
        """Same signature and result type as harness.runner.run."""
        from harness.errors import CommandError
        from harness.runner import CommandResult

        argv = tuple(str(a) for a in argv)
        self.calls.append(argv)
        code, out, err = self._handle(Path(argv[0]).name, list(argv[1:]))
        result = CommandResult(argv, code, out, err, 0.0)
        if check and code != 0:
            raise CommandError(result, where)
        return result

    def _opt(self, args: list[str], name: str) -> str:
        return args[args.index(name) + 1]

    def _handle(self, tool: str, args: list[str]) -> tuple[int, str, str]:
        if tool == "docker":
            return self._docker(args)
        if args[:2] == ["get", "clusters"]:
            return 0, "".join(f"{c}\n" for c in self.clusters), ""
        if args[:2] == ["create", "cluster"]:
            name = self._opt(args, "--name")
            config = yaml.safe_load(Path(self._opt(args, "--config")).read_text())
            workers = 0
            for node in config["nodes"]:
                if node["role"] == "control-plane":
                    self.fake.add_node(f"{name}-control-plane", f"{self.subnet}.2",
                                       {"node-role.kubernetes.io/control-plane": ""})
                    continue
                workers += 1
                node_name = f"{name}-worker{'' if workers == 1 else workers}"
                self.fake.add_node(node_name, f"{self.subnet}.{10 + workers}", node.get("labels", {}))
                self.containers[node_name] = "running"
            self.clusters.append(name)
            self.fake.write_kubeconfig(Path(self._opt(args, "--kubeconfig")), f"kind-{name}")
            return 0, "", f"Creating cluster {name!r} ...\n"
        if args[:2] == ["export", "kubeconfig"]:
            name = self._opt(args, "--name")
            if name not in self.clusters:
                return 1, "", f"ERROR: unknown cluster {name!r}\n"
            self.fake.write_kubeconfig(Path(self._opt(args, "--kubeconfig")), f"kind-{name}")
            return 0, "", ""
        if args[:2] == ["load", "image-archive"]:
            name = self._opt(args, "--name")
            if name not in self.clusters or not Path(args[2]).is_file():
                return 1, "", f"ERROR: cannot load {args[2]} into {name!r}\n"
            return 0, "", ""
        if args[:2] == ["delete", "cluster"]:
            name = self._opt(args, "--name")
            if name in self.clusters:
                self.clusters.remove(name)
            return 0, "", f"Deleting cluster {name!r} ...\n"
        return 1, "", f"fake kind: {' '.join(args)} not faked\n"

    def _docker(self, args: list[str]) -> tuple[int, str, str]:
        if args[:1] == ["info"]:
            return (0, "27.0.1\n", "") if self.engine_ok else (1, "", "Cannot connect to the Docker daemon\n")
        verb, node = args[0], args[-1]
        if node not in self.containers:
            return 1, "", f"Error: No such container: {node}\n"
        state = self.containers[node]
        if verb == "inspect":
            return 0, f"{state}\n", ""
        transitions = {("kill", "running"): "exited", ("start", "exited"): "running",
                       ("pause", "running"): "paused", ("unpause", "paused"): "running"}
        if (verb, state) not in transitions:
            return 1, "", f"Error: cannot {verb} container {node} in state {state}\n"
        self.containers[node] = new = transitions[(verb, state)]
        self.fake.set_node_ready(node, new == "running")
        if self.pool is not None:
            address = self.pool._address(node)
            (self.pool.down.discard if new == "running" else self.pool.down.add)(address)
        return 0, f"{node}\n", ""


@contextmanager
def fake_kind_cluster(tmp_path: Path, name: str) -> Iterator[tuple[Any, "FakeKindAndDocker", FakeGlusterPool]]:
    """A kind provider's cluster on the FAKE API server with a fake kind and docker: (cluster, runner,
    pool). Its image is a registry's, so nothing depends on `make k8s` having built one."""
    from harness.providers.k8s.options import K8sOptions
    from harness.providers.k8s.kind import KindProvider

    with FakeKubeApi() as fake:
        pool = FakeGlusterPool(fake)
        fake.exec_handler = pool
        runner = FakeKindAndDocker(fake, pool)
        kind = tmp_path / "kind"
        kind.write_text("")
        kind.chmod(0o755)
        opts = K8sOptions(kind_binary=str(kind), kind_cluster_name=name, ready_timeout_s=10,
                          gluster_image="registry.example/gluster:test")
        cluster = KindProvider(nodes=3, zones=3, clients=0, root=tmp_path / "root", options=opts, runner=runner).up()
        try:
            yield cluster, runner, pool
        finally:
            cluster.down()
