// A steady client load for the lab: `workers` loops, each making one short HTTP connection after another
// (Connection: close, a new TCP connection per request) to the URL, until stdin closes or says "stop". Then one
// JSON line: total attempts, failures by kind and error, and the failures' times (ms since start) to line them
// up with rollout events (startedAt: the epoch ms they count from). A failure is `connect` when the TCP handshake
// never completed (the attempt found no serving LB), `inFlight` when the connection was up and then broke, also
// when Node saw the reset before the connect (failure-kind.mjs). `slowConnects` counts handshakes that took
// a SYN retransmission (over 900 ms; the first retransmit comes after 1 s): the SYN was lost on the way, e.g.
// at an LB pod that no longer forwards.   node steady-load.mjs <url> <workers> <pauseMs>
import { request } from 'node:http';
import { failureKind } from './failure-kind.mjs';

const [url, workers = '4', pauseMs = '5'] = process.argv.slice(2);
const started = Date.now();
let stop = false;
let total = 0;
const counts = {};
const errors = {};
const failures = [];
const failed = { connect: 0, inFlight: 0 };
const SLOW_CONNECT_MS = 900;
const slow = [];

function get() {
  return new Promise((resolve, reject) => {
    let connected = false;
    const fail = (err) => reject(Object.assign(err, { connected }));
    const req = request(url, { agent: false, headers: { connection: 'close' }, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => (res.statusCode === 200 ? resolve(body.trim()) : fail(new Error(`status-${res.statusCode}`))));
      res.on('error', fail);
    });
    const asked = Date.now();
    req.on('socket', (s) => s.once('connect', () => {
      connected = true;
      if (Date.now() - asked > SLOW_CONNECT_MS) slow.push(Date.now() - started);
    }));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', fail);
    req.end();
  });
}

async function worker() {
  while (!stop) {
    total++;
    try {
      const backend = await get();
      counts[backend] = (counts[backend] ?? 0) + 1;
    } catch (err) {
      const kind = failureKind(err.connected, err.code);
      failed[kind]++;
      const key = `${kind} ${err.code ?? err.message}${kind === 'inFlight' && !err.connected ? ' (before the connect event)' : ''}`;
      errors[key] = (errors[key] ?? 0) + 1;
      failures.push(Date.now() - started);
    }
    await new Promise((r) => setTimeout(r, Number(pauseMs)));
  }
}

process.stdin.on('data', (d) => { if (d.toString().includes('stop')) stop = true; });
process.stdin.on('end', () => { stop = true; });
process.stdout.write('running\n');
await Promise.all(Array.from({ length: Number(workers) }, worker));
process.stdout.write(`${JSON.stringify({ startedAt: started, total, failed, errors, counts, failureTimesMs: failures, slowConnectTimesMs: slow, durationMs: Date.now() - started })}\n`);
