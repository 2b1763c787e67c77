# Sends raw IPv4 packets from inside a client netns (Node has no raw sockets), one JSON line out:
#   python3 raw-send.py <dst> icmp-echo|proto-<n> <count>
# icmp-echo: ICMP echo requests with a valid checksum (a bad one would count as IcmpInCsumErrors somewhere);
# proto-<n>: an IP protocol nobody serves (e.g. 253, RFC 3692's experimental number) with a small payload.
import json, socket, struct, sys, time

dst, kind, count = sys.argv[1], sys.argv[2], int(sys.argv[3])

def checksum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff

proto = 1 if kind == 'icmp-echo' else int(kind.split('-', 1)[1])
sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, proto)
for seq in range(count):
    if proto == 1:
        body = b'plb-unserved-%d' % seq
        head = struct.pack('!BBHHH', 8, 0, 0, 0x504c, seq)
        packet = struct.pack('!BBHHH', 8, 0, checksum(head + body), 0x504c, seq) + body
    else:
        packet = b'plb-unserved-%d' % seq
    sock.sendto(packet, (dst, 0))
    time.sleep(0.002)
print(json.dumps({'sent': count, 'protocol': proto}))
