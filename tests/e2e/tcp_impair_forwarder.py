"""User-space IPv4 forwarder between two interfaces of one network namespace, used by
tcp_netns_test.ts. It drops, duplicates, delays and reorders TCP segments with a fixed seed
(this kernel has no sch_netem). Usage:
  tcp_impair_forwarder.py IF_A MAC_PEER_A IF_B MAC_PEER_B SEED
Frames arriving on IF_A are sent out of IF_B to MAC_PEER_B and the other way round."""
import heapq, random, select, socket, sys, time

if_a, mac_a, if_b, mac_b, seed = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
rnd = random.Random(seed)
ETH_P_ALL = 3

def open_if(name):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((name, 0))
    return s

def mac_bytes(m):
    return bytes(int(x, 16) for x in m.split(":"))

sa, sb = open_if(if_a), open_if(if_b)
own = {sa: mac_bytes(open(f"/sys/class/net/{if_a}/address").read().strip()),
       sb: mac_bytes(open(f"/sys/class/net/{if_b}/address").read().strip())}
route = {sa: (sb, mac_bytes(mac_b)), sb: (sa, mac_bytes(mac_a))}
pending = []  # (release time, seq, out socket, frame)
seq = 0
stats = {"fwd": 0, "drop": 0, "dup": 0, "delay": 0}

def fix_tcp_checksum(frame):
    """veth hands frames over with the checksum left to offload: compute it before re-sending."""
    ihl = (frame[14] & 15) * 4
    total = int.from_bytes(frame[16:18], "big")
    seg = bytearray(frame[14 + ihl:14 + total])
    if frame[23] != 6 or len(seg) < 20:
        return frame
    seg[16:18] = b"\0\0"
    data = frame[26:34] + b"\0\x06" + len(seg).to_bytes(2, "big") + bytes(seg)
    if len(data) % 2:
        data += b"\0"
    s = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    seg[16:18] = (~s & 0xFFFF).to_bytes(2, "big")
    return frame[:14 + ihl] + bytes(seg) + frame[14 + total:]

def send(out, frame):
    out.send(frame)
    stats["fwd"] += 1

print("ready", flush=True)
while True:
    timeout = max(0.0, pending[0][0] - time.monotonic()) if pending else 0.5
    r, _, _ = select.select([sa, sb, sys.stdin], [], [], timeout)
    now = time.monotonic()
    while pending and pending[0][0] <= now:
        _, _, out, frame = heapq.heappop(pending)
        send(out, frame)
    if sys.stdin in r:
        if not sys.stdin.readline():
            break
    for s in (sa, sb):
        if s not in r:
            continue
        frame, addr = s.recvfrom(65535)
        if addr[2] == socket.PACKET_OUTGOING or frame[0:6] == own[route[s][0]]:
            continue
        if frame[12:14] != b"\x08\x00":  # IPv4 only; ARP stays local to each side
            continue
        if frame[0:6] != own[s]:  # only frames sent to this hop
            continue
        out, dst = route[s]
        frame = fix_tcp_checksum(dst + own[out] + frame[12:])
        tcp_data = frame[23] == 6 and len(frame) > 14 + (frame[14] & 15) * 4 + (frame[14 + (frame[14] & 15) * 4 + 12] >> 4) * 4
        if tcp_data:
            x = rnd.random()
            if x < 0.04:
                stats["drop"] += 1
                continue
            if x < 0.08:
                stats["dup"] += 1
                send(out, frame)
            elif x < 0.16:
                stats["delay"] += 1
                seq += 1
                heapq.heappush(pending, (now + rnd.uniform(0.005, 0.03), seq, out, frame))
                continue
        send(out, frame)
print("stats", stats, flush=True)
