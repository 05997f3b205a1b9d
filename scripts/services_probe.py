#!/usr/bin/env python3
"""Tiny, dependency-free probes used by scripts/services.sh.

Each probe speaks just enough of an engine's wire protocol to prove the engine
answers (not merely that its port is open), and exits 0 if it does, 1 if not:

    services_probe.py kafka HOST PORT     Kafka Metadata v0 request: at least one broker
    services_probe.py amqp HOST PORT      AMQP 0-9-1 protocol header -> Connection.Start
    services_probe.py mongo HOST PORT     OP_MSG {ping: 1} -> ok: 1
    services_probe.py mongo-smoke URL     pymongo: insert, sorted find, unique compound
                                          index on (ticker, time), upsert (needs pymongo)

Only the standard library is used (pymongo for mongo-smoke), so the script runs with
the system python3 before the project's virtualenv exists.
"""
from __future__ import annotations

import socket
import struct
import sys

TIMEOUT = 3.0


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("connection closed")
        data += chunk
    return data


def kafka(host: str, port: int) -> bool:
    client_id = b"mybroker-probe"
    # Request header v0: api_key=3 (Metadata), api_version=0, correlation_id, client_id;
    # body: topics array, empty (v0: all topics).
    body = struct.pack(">hhih", 3, 0, 42, len(client_id)) + client_id + struct.pack(">i", 0)
    with socket.create_connection((host, port), TIMEOUT) as sock:
        sock.settimeout(TIMEOUT)
        sock.sendall(struct.pack(">i", len(body)) + body)
        (size,) = struct.unpack(">i", _recv_exact(sock, 4))
        payload = _recv_exact(sock, size)
    correlation_id, brokers = struct.unpack(">ii", payload[:8])
    return correlation_id == 42 and brokers >= 1


def amqp(host: str, port: int) -> bool:
    with socket.create_connection((host, port), TIMEOUT) as sock:
        sock.settimeout(TIMEOUT)
        sock.sendall(b"AMQP\x00\x00\x09\x01")
        frame_type, _channel, _size = struct.unpack(">BHI", _recv_exact(sock, 7))
        class_id, method_id = struct.unpack(">HH", _recv_exact(sock, 4))
    return frame_type == 1 and (class_id, method_id) == (10, 10)  # Connection.Start


def _bson_cstring(s: str) -> bytes:
    return s.encode() + b"\x00"


def mongo(host: str, port: int) -> bool:
    # BSON {ping: 1 (int32), $db: "admin"}
    elements = b"\x10" + _bson_cstring("ping") + struct.pack("<i", 1)
    elements += b"\x02" + _bson_cstring("$db") + struct.pack("<i", 6) + b"admin\x00"
    doc = struct.pack("<i", len(elements) + 5) + elements + b"\x00"
    msg = struct.pack("<I", 0) + b"\x00" + doc  # flagBits, section kind 0, body
    header = struct.pack("<iiii", 16 + len(msg), 7, 0, 2013)  # OP_MSG
    with socket.create_connection((host, port), TIMEOUT) as sock:
        sock.settimeout(TIMEOUT)
        sock.sendall(header + msg)
        (length,) = struct.unpack("<i", _recv_exact(sock, 4))
        reply = _recv_exact(sock, length - 4)
    _req, response_to, opcode = struct.unpack("<iii", reply[:12])
    ok_double = b"\x01ok\x00" + struct.pack("<d", 1.0)
    ok_int = b"\x10ok\x00" + struct.pack("<i", 1)
    return response_to == 7 and opcode == 2013 and (ok_double in reply or ok_int in reply)


def mongo_smoke(url: str) -> bool:
    """What the platform needs from MongoDB (candles keyed by ticker and time)."""
    import datetime as dt

    import pymongo
    from pymongo.errors import DuplicateKeyError

    client = pymongo.MongoClient(url, serverSelectionTimeoutMS=5000)
    try:
        coll = client["mybroker_probe"]["candles"]
        coll.drop()
        coll.create_index([("ticker", 1), ("time", 1)], unique=True)
        t0 = dt.datetime(2026, 1, 2, 10, 0)
        coll.insert_many([
            {"ticker": "PETR4", "time": t0 + dt.timedelta(minutes=m), "close": 30 + m} for m in (2, 0, 1)
        ])
        times = [d["time"].minute for d in coll.find({"ticker": "PETR4"}).sort("time", -1)]
        assert times == [2, 1, 0], times
        try:
            coll.insert_one({"ticker": "PETR4", "time": t0, "close": 99})
            raise AssertionError("unique index (ticker, time) not enforced")
        except DuplicateKeyError:
            pass
        coll.update_one({"ticker": "VALE3", "time": t0}, {"$set": {"close": 60}}, upsert=True)
        coll.update_one({"ticker": "VALE3", "time": t0}, {"$set": {"close": 61}}, upsert=True)
        docs = list(coll.find({"ticker": "VALE3"}))
        assert len(docs) == 1 and docs[0]["close"] == 61, docs
        coll.drop()
        client.drop_database("mybroker_probe")
        return True
    finally:
        client.close()


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    kind, args = argv[1], argv[2:]
    try:
        if kind == "mongo-smoke":
            ok = mongo_smoke(args[0])
        else:
            ok = {"kafka": kafka, "amqp": amqp, "mongo": mongo}[kind](args[0], int(args[1]))
    except Exception as exc:  # noqa: BLE001 - any failure means "not answering (yet)"
        if kind == "mongo-smoke":
            print(f"mongo smoke test failed: {exc!r}", file=sys.stderr)
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
