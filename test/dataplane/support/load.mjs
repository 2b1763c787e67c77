// HTTP/UDP load from inside a client netns; prints one JSON line with the tally.
//   node load.mjs http <url> <requests> <concurrency> close|keepalive
//   node load.mjs udp <host> <port> <datagrams> [<bytes>]   (host: an IPv4 or IPv6 literal; bytes: pad each
//                                                          datagram to this size, e.g. beyond the MTU)
//   node load.mjs send <host> <port> <datagrams>  -> {sent}: one socket, no replies awaited (a port nobody serves)
//   node load.mjs connects <host> <port> <total> <concurrency> <source,addresses>
//       -> {ok, failed, errors, tuples}: TCP connects, each closed at once (client first), spread over the
//          source addresses with kernel-chosen ephemeral ports; tuples = distinct (address, port) pairs used
//   node load.mjs big <url>            -> {sha256, bytes}
//   node load.mjs upload <url> <bytes> -> the server's {backend, bytes, sha256} and the local sha256
import { request, Agent } from 'node:http';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
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

// Each datagram gets PACE_MS for its reply before the next is sent; a reply that comes later still counts, as
// `late`, if it arrives within GRACE_MS after the last datagram. Only a datagram never answered is `failed`: a
// reply delayed by a stalled vCPU (software emulation, hack/vm) is not a loss.
const PACE_MS = 2000;
const GRACE_MS = 10_000;

async function udp([host, port, total, bytes]) {
  const counts = {};
  // `<pad> ping-<i>`: the backend echoes `<name> <payload>`, so a whole reply is one name longer than sent
  const payload = (i) => (bytes === undefined ? `ping-${i}` : `${'x'.repeat(Math.max(0, Number(bytes) - ` ping-${i}`.length))} ping-${i}`);
  const count = (i, reply) => {
    if (!reply || !reply.endsWith(` ping-${i}`)) return false;
    if (bytes !== undefined && !reply.endsWith(` ${payload(i)}`)) return false;
    const name = reply.split(' ')[0];
    counts[name] = (counts[name] ?? 0) + 1;
    return true;
  };
  // unref: an expired wait must not keep the process alive after the last socket is closed
  const timer = (ms) => new Promise((resolve) => setTimeout(() => resolve(null), ms).unref());
  const overdue = [];
  for (let i = 0; i < Number(total); i++) {
    // a fresh socket (source port) per datagram: each is a new flow for the balancer
    const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const reply = new Promise((resolve) => sock.once('message', (m) => resolve(m.toString())));
    sock.send(payload(i), Number(port), host);
    const inTime = await Promise.race([reply, timer(PACE_MS)]);
    if (inTime === null) {
      overdue.push({ i, sock, reply });
      continue;
    }
    count(i, inTime);
    sock.close();
  }
  const deadline = timer(GRACE_MS);
  let late = 0;
  for (const { i, sock, reply } of overdue) {
    if (count(i, await Promise.race([reply, deadline]))) late++;
    sock.close();
  }
  const received = Object.values(counts).reduce((a, b) => a + b, 0);
  return { counts, failed: Number(total) - received, late };
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

// A connect counts as ok once established; it is then closed by the client (FIN first: the client side keeps
// the TIME_WAIT, not the backend). 10 s covers SYN retransmits (1 s, 3 s, 7 s) of a stalled emulated vCPU.
async function connects([host, port, total, concurrency, sources]) {
  const from = sources.split(',');
  const tuples = new Set();
  const errors = {};
  let next = 0;
  let ok = 0;
  let failed = 0;
  const once = (localAddress) => new Promise((resolve) => {
    let connected = false;
    // 30 s: SYNs at 0, 1, 3, 7 and 15 s, as a kernel's connect() retries (its own limit is ~2 min). At this rate
    // (~2 600 connects/s to one backend port) the xdp plane once dropped ~1 000 SYNs per run for want of a free
    // SNAT tuple (closed flows held theirs for their 60 s closing timeout), and the retransmission got one; with
    // 10 s, four drops of one connect in a row failed it (1 in 64 600, once in five CI runs). The conformance
    // case now counts lost SYNs itself.
    const s = connect({ host, port: Number(port), localAddress, timeout: 30_000 });
    s.once('connect', () => { connected = true; ok++; tuples.add(`${localAddress}:${s.localPort}`); s.setTimeout(0); s.end(); });
    s.once('timeout', () => s.destroy(new Error('ETIMEDOUT')));
    s.on('error', (err) => {
      if (connected) return; // a reset after our FIN is the backend's business, not a failed connect
      failed++;
      errors[err.code ?? err.message] = (errors[err.code ?? err.message] ?? 0) + 1;
    });
    s.once('close', resolve);
    s.resume();
  });
  const worker = async () => {
    while (next < Number(total)) await once(from[next++ % from.length]);
  };
  await Promise.all(Array.from({ length: Number(concurrency) }, worker));
  return { ok, failed, errors, tuples: tuples.size };
}

async function send([host, port, total]) {
  const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  for (let i = 0; i < Number(total); i++) {
    await new Promise((resolve) => sock.send(`unserved-${i}`, Number(port), host, resolve));
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  sock.close();
  return { sent: Number(total) };
}

const run = { http, udp, big, upload, connects, send }[mode];
process.stdout.write(`${JSON.stringify(await run(args))}\n`);
