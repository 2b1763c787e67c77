// One TCP connection from inside a client netns that stays silent until told: no keep-alive probes, no data
// (a websocket or gRPC stream between messages), so nothing of the client's refreshes the LB's flow state.
//   node idle-tcp.mjs <host> <port>
// Prints {"localPort": n} once connected, then one JSON line per event: {"data": "<text>"}, {"error": "<code>"},
// {"end": true}. A stdin line "get" sends an HTTP/1.1 GET / on the connection.
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

const [host, port] = process.argv.slice(2);
const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const sock = connect({ host, port: Number(port) }, () => out({ localPort: sock.localPort }));
sock.setEncoding('utf8');
sock.on('data', (data) => out({ data }));
sock.on('error', (err) => out({ error: err.code ?? err.message }));
sock.on('end', () => out({ end: true }));
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'get') sock.write(`GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
});
