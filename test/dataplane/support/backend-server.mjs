// A backend for the conformance suite, run inside a backend netns:
//   node backend-server.mjs <name> <httpPort> <udpPort> [<bind address>, default 0.0.0.0; :: for IPv6]
// HTTP: GET / -> "<name>\n"; GET /big -> 1 MiB of deterministic bytes (the client hashes them);
//       GET /peer -> "<name> <the connection's source address>\n" (what the backend sees after the LB's SNAT);
//       POST /upload -> {"backend", "bytes", "sha256"} of the request body.
// UDP: echoes "<name> <payload>". Prints "ready" once both sockets listen.
// stdin: "push <remote port>" writes "<name> push\n" on the HTTP connection from that port unasked (a server
//        speaking first on an idle connection: a websocket or server-sent event), once it is accepted (at most
//        10 s), and prints "pushed <port>" (or "no-connection <port>").
import { createServer } from 'node:http';
import { createSocket } from 'node:dgram';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';

const [name, httpPort, udpPort, bind = '0.0.0.0'] = process.argv.slice(2);
const big = Buffer.alloc(1 << 20);
for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 8)) & 0xff;

const http = createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/upload') {
    const hash = createHash('sha256');
    let bytes = 0;
    req.on('data', (c) => { hash.update(c); bytes += c.length; });
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ backend: name, bytes, sha256: hash.digest('hex') }));
    });
    return;
  }
  if (req.url === '/big') {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': big.length });
    res.end(big);
    return;
  }
  const body = req.url === '/peer' ? `${name} ${req.socket.remoteAddress}\n` : `${name}\n`;
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
// Idle keep-alive connections are the suite's long-lived flows: the server must not be what closes them (under
// emulation the population burst alone idles them for minutes).
http.keepAliveTimeout = 3_600_000;
const byPort = new Map();
http.on('connection', (s) => {
  const port = s.remotePort;
  byPort.set(port, s);
  s.once('close', () => { if (byPort.get(port) === s) byPort.delete(port); });
});
const accepted = (port) => new Promise((resolve) => {
  if (byPort.has(port)) return resolve(byPort.get(port));
  const timer = setTimeout(() => { http.off('connection', check); resolve(undefined); }, 10_000);
  const check = (s) => { if (s.remotePort === port) { clearTimeout(timer); http.off('connection', check); resolve(s); } };
  http.on('connection', check);
});
createInterface({ input: process.stdin }).on('line', async (line) => {
  const [command, port] = line.trim().split(/\s+/);
  if (command !== 'push') return;
  const s = await accepted(Number(port));
  if (s) s.write(`${name} push\n`);
  process.stdout.write(`${s ? 'pushed' : 'no-connection'} ${port}\n`);
});
http.listen(Number(httpPort), bind, () => {
  const udp = createSocket(bind.includes(':') ? 'udp6' : 'udp4');
  udp.on('message', (msg, rinfo) => udp.send(`${name} ${msg.toString()}`, rinfo.port, rinfo.address));
  udp.bind(Number(udpPort), bind, () => process.stdout.write('ready\n'));
});
