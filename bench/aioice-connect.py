#!/usr/bin/python3
"""Two aioice agents for bench/ice.ts's `ice-connect-rtts` (peer "aioice"), driven over stdin/stdout
with one JSON object per line, one round at a time:

    -> {"type": "gather"}
    <- {"type": "candidates", "a": [sdp, ...], "b": [sdp, ...]}   a controls, b is controlled
    -> {"type": "connect", "a": [sdp, ...], "b": [sdp, ...]}        what each side gets from the other
    <- {"type": "result", "ms": <connect() of both returned, ms after the candidates were given>}
       or {"type": "error", "message": "..."}
    -> {"type": "quit"}

Each round uses two new Connections on 127.0.0.1 host candidates only (aioice 0.8 skips loopback
when it lists host addresses, so the lookup is replaced, as in test/interop/drivers/aioice_peer.py),
no STUN server. The candidates the bench sends back are the other side's, rewritten by the bench's
delay relay (bench/delay-relay.ts) to the relay's ports, so every datagram crosses it. The clock
starts when both sides get the other's credentials and candidates and end-of-candidates, like
icekit's and werift-ice's runs in the same process as the relay; aioice's `connect()` returns once a
pair is nominated (controlling: after its USE-CANDIDATE check succeeds; controlled: after it is
nominated), which is what "connected" means for the other two.
"""
import asyncio
import json
import sys
import time

import aioice
import aioice.ice
from aioice import Candidate, Connection

aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


def emit(obj):
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def parse(sdp):
    if sdp.startswith("a="):
        sdp = sdp[2:]
    if sdp.startswith("candidate:"):
        sdp = sdp[len("candidate:"):]
    return Candidate.from_sdp(sdp)


async def main():
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    a = b = None
    while True:
        line = await reader.readline()
        if not line:
            break
        msg = json.loads(line)
        kind = msg.get("type")
        if kind == "quit":
            break
        if kind == "gather":
            a = Connection(ice_controlling=True, use_ipv6=False)
            b = Connection(ice_controlling=False, use_ipv6=False)
            await asyncio.gather(a.gather_candidates(), b.gather_candidates())
            emit({
                "type": "candidates",
                "a": ["candidate:" + c.to_sdp() for c in a.local_candidates],
                "b": ["candidate:" + c.to_sdp() for c in b.local_candidates],
            })
        elif kind == "connect":
            try:
                t0 = time.monotonic()
                for to, frm, lines in ((a, b, msg["a"]), (b, a, msg["b"])):
                    to.remote_username = frm.local_username
                    to.remote_password = frm.local_password
                    for text in lines:
                        await to.add_remote_candidate(parse(text))
                    await to.add_remote_candidate(None)
                done = []

                async def connect(conn):
                    await conn.connect()
                    done.append(time.monotonic())

                await asyncio.wait_for(asyncio.gather(connect(a), connect(b)), 20)
                emit({"type": "result", "ms": (max(done) - t0) * 1000})
            except Exception as e:  # aioice raises ConnectionError on failure
                emit({"type": "error", "message": "%s: %s" % (type(e).__name__, e)})
            finally:
                await asyncio.gather(a.close(), b.close(), return_exceptions=True)
                a = b = None
    if a is not None:
        await asyncio.gather(a.close(), b.close(), return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(main())
