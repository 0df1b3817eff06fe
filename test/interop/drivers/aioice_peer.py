#!/usr/bin/python3
"""An aioice agent that speaks `icekit ice`'s line-JSON signaling, so a test can wire it to
`icekit ice` exactly like a second icekit process.

    /usr/bin/python3 test/interop/drivers/aioice_peer.py (--controlling | --controlled)
        [--host IP ...] [--stun HOST:PORT] [--turn HOST:PORT --turn-user U --turn-pass P]
        [--ping N] [--timeout MS] [--no-host]

stdout: {"type":"params"}, {"type":"candidate"} per local candidate, {"type":"end-of-candidates"},
{"type":"state"}, {"type":"selected"}, and with --ping on the controlling side {"type":"done"}.
stdin: the peer's params, candidates and end-of-candidates, in any order. Exit rules are those of
`icekit ice`: the controlling side with --ping N pings ping-0..ping-<N-1> one at a time and exits
0 when all came back; the controlled side echoes and exits 0 once it echoed N pings (with
--ping N) or stdin ended while connected; 1 on failure or timeout. Logs go to stderr.

aioice (Debian python3-aioice 0.8) gathers every local candidate before returning and skips
127.0.0.1, so with --host its host address lookup is replaced by the given addresses.
"""
import argparse
import asyncio
import json
import logging
import statistics
import sys
import time

import aioice
import aioice.ice
from aioice import Candidate, Connection


def host_port(text):
    host, _, port = text.rpartition(":")
    return (host.strip("[]"), int(port))


def emit(obj):
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def log(text):
    sys.stderr.write("aioice_peer: %s\n" % text)
    sys.stderr.flush()


async def stdin_lines(queue):
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            await queue.put(None)
            return
        await queue.put(line.decode("utf-8", "replace"))


async def run(args):
    if args.host:
        hosts = list(args.host)
        aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: hosts
    kwargs = {}
    if args.stun:
        kwargs["stun_server"] = host_port(args.stun)
    if args.turn:
        kwargs["turn_server"] = host_port(args.turn)
        kwargs["turn_username"] = args.turn_user
        kwargs["turn_password"] = args.turn_pass
    if args.no_host:
        # Relayed candidates only (aioice's TransportPolicy.RELAY), like `icekit ice --no-host`.
        kwargs["transport_policy"] = aioice.ice.TransportPolicy.RELAY
    conn = Connection(ice_controlling=args.controlling, use_ipv6=False, **kwargs)
    emit({"type": "params", "ufrag": conn.local_username, "pwd": conn.local_password})

    queue = asyncio.Queue()
    asyncio.ensure_future(stdin_lines(queue))
    gather = asyncio.ensure_future(conn.gather_candidates())

    state = {"params": False, "connect": None, "connected": False, "stdin_ended": False}
    pending = []  # candidates and end-of-candidates waiting for params
    finished = asyncio.get_running_loop().create_future()

    def finish(code):
        if not finished.done():
            finished.set_result(code)

    async def apply(item):
        if item is None:
            await conn.add_remote_candidate(None)
        else:
            await conn.add_remote_candidate(item)

    async def connect():
        emit({"type": "state", "state": "checking"})
        try:
            await conn.connect()
        except Exception as e:  # aioice raises ConnectionError on failure
            log("connect failed: %s" % e)
            emit({"type": "state", "state": "failed"})
            finish(1)
            return
        state["connected"] = True
        emit({"type": "state", "state": "connected"})
        pair = conn._nominated.get(1)
        if pair is not None:
            emit({
                "type": "selected",
                "local": "candidate:" + pair.local_candidate.to_sdp(),
                "remote": "candidate:" + pair.remote_candidate.to_sdp(),
            })
        if args.controlling and args.ping:
            await ping()
        else:
            asyncio.ensure_future(echo())
            if state["stdin_ended"] and not args.ping:
                finish(0)

    async def ping():
        rtts = []
        for i in range(args.ping):
            payload = ("ping-%d" % i).encode()
            while True:
                sent_at = time.monotonic()
                await conn.send(payload)
                try:
                    while True:
                        data = await asyncio.wait_for(conn.recv(), 0.25)
                        if data == payload:
                            break
                except asyncio.TimeoutError:
                    continue
                rtts.append((time.monotonic() - sent_at) * 1000)
                break
        emit({"type": "done", "sent": args.ping, "echoed": len(rtts), "rttMs": round(statistics.median(rtts), 2)})
        finish(0)

    async def echo():
        seen = set()
        linger = None
        while True:
            try:
                data = await conn.recv()
            except ConnectionError:
                return
            await conn.send(data)
            text = data.decode("utf-8", "replace")
            if text.startswith("ping-"):
                seen.add(text)
            if args.ping and len(seen) >= args.ping:
                if state["stdin_ended"]:
                    finish(0)
                if linger is not None:
                    linger.cancel()
                linger = asyncio.get_running_loop().call_later(1.0, finish, 0)

    async def read_signaling():
        while True:
            line = await queue.get()
            if line is None:
                state["stdin_ended"] = True
                if state["connected"] and not (args.controlling and args.ping):
                    if not args.ping:
                        finish(0)
                continue
            line = line.strip()
            if not line:
                continue
            try:
                msg = json.loads(line)
            except ValueError:
                log("ignoring a line that is not JSON: %s" % line[:120])
                continue
            if not isinstance(msg, dict):
                continue
            kind = msg.get("type")
            try:
                if kind == "params":
                    conn.remote_username = msg["ufrag"]
                    conn.remote_password = msg["pwd"]
                    state["params"] = True
                    for item in pending:
                        await apply(item)
                    pending.clear()
                elif kind == "candidate":
                    text = msg["candidate"]
                    if text.startswith("a="):
                        text = text[2:]
                    if text.startswith("candidate:"):
                        text = text[len("candidate:"):]
                    item = Candidate.from_sdp(text)
                    if state["params"]:
                        await apply(item)
                    else:
                        pending.append(item)
                elif kind == "end-of-candidates":
                    if state["params"]:
                        await apply(None)
                    else:
                        pending.append(None)
                else:
                    continue
            except Exception as e:
                log("ignoring %s message: %s" % (kind, e))
                continue
            # aioice's connect() needs gathering done and the remote credentials.
            if state["params"] and state["connect"] is None:
                await gather
                state["connect"] = asyncio.ensure_future(connect())

    await gather
    for c in conn.local_candidates:
        emit({"type": "candidate", "candidate": "candidate:" + c.to_sdp()})
    emit({"type": "end-of-candidates"})
    reader = asyncio.ensure_future(read_signaling())
    try:
        code = await asyncio.wait_for(finished, args.timeout / 1000)
    except asyncio.TimeoutError:
        log("timed out after %d ms" % args.timeout)
        code = 1
    reader.cancel()
    await conn.close()
    emit({"type": "state", "state": "closed"})
    return code


def main():
    p = argparse.ArgumentParser()
    role = p.add_mutually_exclusive_group(required=True)
    role.add_argument("--controlling", action="store_true")
    role.add_argument("--controlled", action="store_true")
    p.add_argument("--host", action="append")
    p.add_argument("--stun")
    p.add_argument("--turn")
    p.add_argument("--turn-user")
    p.add_argument("--turn-pass")
    p.add_argument("--ping", type=int, default=0)
    p.add_argument("--timeout", type=int, default=10000)
    p.add_argument("--no-host", action="store_true")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args()
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, stream=sys.stderr)
    code = asyncio.run(run(args))
    sys.stdout.flush()
    # stdin's reader thread may still be blocked; leave without waiting for it.
    import os
    os._exit(code)


if __name__ == "__main__":
    main()
