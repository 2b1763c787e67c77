// A UDP client on one fixed source port (a game client, a SIP phone, a DNS forwarder behind NAT): one socket,
// a datagram every <intervalMs>; prints one JSON line per reply: {"t": <ms since epoch>, "backend": "b1"}.
//   node udp-fixed.mjs <host> <port> <sourcePort> <intervalMs>
import { createSocket } from 'node:dgram';

const [host, port, sourcePort, interval] = process.argv.slice(2);
const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
sock.on('message', (m) => process.stdout.write(`${JSON.stringify({ t: Date.now(), backend: m.toString().split(' ')[0] })}\n`));
sock.bind(Number(sourcePort), () => {
  let i = 0;
  setInterval(() => sock.send(`fixed-${i++}`, Number(port), host), Number(interval));
  process.stdout.write('sending\n');
});
