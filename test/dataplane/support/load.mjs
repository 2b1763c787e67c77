// HTTP/UDP load from inside a client netns; prints one JSON line with the tally.
//   node load.mjs http <url> <requests> <concurrency> close|keepalive
//   node load.mjs udp <host> <port> <datagrams>
//   node load.mjs big <url>            -> {sha256, bytes}
//   node load.mjs upload <url> <bytes> -> the server's {backend, bytes, sha256} and the local sha256
import { request, Agent } from 'node:http';
import { createSocket } from 'node:dgram';
import { createHash } from 'node:crypto';

const [mode, ...args] = process.argv.slice(2);

// agent === false: a new TCP connection per request, closed after the response ("Connection: close").
function get(url, agent) {
  const headers = agent === false ? { connection: 'close' } : {};
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers, timeout: 10_000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function http([url, total, concurrency, style]) {
  const agent = style === 'keepalive' ? new Agent({ keepAlive: true, maxSockets: Number(concurrency) }) : false;
  const counts = {};
  const errors = {};
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < Number(total)) {
      next++;
      try {
        const { status, body } = await get(url, agent);
        const key = status === 200 ? body.toString().trim() : `status-${status}`;
        counts[key] = (counts[key] ?? 0) + 1;
        if (status !== 200) failed++;
      } catch (err) {
        failed++;
        errors[err.code ?? err.message] = (errors[err.code ?? err.message] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Number(concurrency) }, worker));
  if (agent) agent.destroy();
  return { counts, failed, errors };
}

async function udp([host, port, total]) {
  const counts = {};
  let failed = 0;
  for (let i = 0; i < Number(total); i++) {
    // a fresh socket (source port) per datagram: each is a new flow for the balancer
    const sock = createSocket('udp4');
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
  return { counts, failed };
}

async function big([url]) {
  const { status, body } = await get(url, false);
  return { status, bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') };
}

async function upload([url, size]) {
  const body = Buffer.alloc(Number(size));
  for (let i = 0; i < body.length; i++) body[i] = (i * 7 + (i >> 10)) & 0xff;
  const sent = createHash('sha256').update(body).digest('hex');
  const reply = await new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent: false, timeout: 20_000, headers: { 'content-length': body.length } }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve(JSON.parse(text)));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
  return { ...reply, sent };
}

const run = { http, udp, big, upload }[mode];
process.stdout.write(`${JSON.stringify(await run(args))}\n`);
