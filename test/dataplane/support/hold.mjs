// Holds N keep-alive HTTP connections open inside a client netns; each line on stdin makes one request on every
// connection and prints [{backend, localPort, ok}] as one JSON line. Shows that established flows keep working.
//   node hold.mjs <url> <connections> [local address]
import { request, Agent } from 'node:http';
import { createInterface } from 'node:readline';

const [url, n, localAddress] = process.argv.slice(2);
const agents = Array.from({ length: Number(n) }, () => new Agent({ keepAlive: true, maxSockets: 1 }));

function once(agent) {
  return new Promise((resolve) => {
    let localPort = null;
    const req = request(url, { agent, timeout: 5000, ...(localAddress ? { localAddress } : {}) }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ backend: body.trim(), localPort, ok: res.statusCode === 200 }));
    });
    req.on('socket', (s) => {
      const record = () => { localPort = s.localPort; };
      if (s.localPort) record(); else s.once('connect', record);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ backend: null, localPort, ok: false, error: err.message }));
    req.end();
  });
}

createInterface({ input: process.stdin }).on('line', async () => {
  const results = await Promise.all(agents.map(once));
  process.stdout.write(`${JSON.stringify(results)}\n`);
});
process.stdout.write('holding\n');
