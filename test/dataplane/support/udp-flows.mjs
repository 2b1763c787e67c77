// UDP flows from inside a client netns, IPv4 or IPv6 by the host literal; prints one JSON tally line.
//   node udp-flows.mjs <host> <port> <datagrams>
// Each datagram leaves from a fresh socket (a new source port: a new flow for the balancer) and waits 2 s for
// the backend-server.mjs echo "<backend> <payload>".
import { createSocket } from 'node:dgram';

const [host, port, total] = process.argv.slice(2);
const counts = {};
let failed = 0;
for (let i = 0; i < Number(total); i++) {
  const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const reply = await new Promise((resolve) => {
    const t = setTimeout(() => resolve(null), 2000);
    sock.on('message', (m) => { clearTimeout(t); resolve(m.toString()); });
    sock.send(`ping-${i}`, Number(port), host);
  });
  sock.close();
  if (reply && reply.endsWith(` ping-${i}`)) {
    const name = reply.split(' ')[0];
    counts[name] = (counts[name] ?? 0) + 1;
  } else failed++;
}
process.stdout.write(`${JSON.stringify({ counts, failed })}\n`);
