// BIRD's control socket (what birdc speaks): one text line per command; each reply line starts with a 4-digit
// code and '-' (more follows) or ' ' (last line), or with a space (continuation of the previous code). Codes
// 0xxx end a successful reply, 8xxx and 9xxx an error (runtime, parse). The parser is pure; the client opens one
// connection per command, so a restarted BIRD needs no reconnect logic, with a deadline on each.
import { createConnection } from 'node:net';

export interface BirdReply {
  /** The final code: 0xxx ok, 8xxx/9xxx error. */
  code: number;
  lines: Array<{ code: number; text: string }>;
}

export class BirdReplyParser {
  #buffer = '';
  #lines: BirdReply['lines'] = [];
  #greeted = false;

  /** Feeds socket text; returns the replies it completed (the greeting, code 0001, is swallowed). */
  push(chunk: string): BirdReply[] {
    this.#buffer += chunk;
    const done: BirdReply[] = [];
    let nl: number;
    while ((nl = this.#buffer.indexOf('\n')) >= 0) {
      const line = this.#buffer.slice(0, nl);
      this.#buffer = this.#buffer.slice(nl + 1);
      const m = /^(\d{4})([ -])(.*)$/.exec(line);
      if (!m) {
        const last = this.#lines[this.#lines.length - 1];
        this.#lines.push({ code: last?.code ?? 0, text: line.startsWith(' ') ? line.slice(1) : line });
        continue;
      }
      const code = Number(m[1]);
      this.#lines.push({ code, text: m[3] ?? '' });
      const final = m[2] === ' ' && (code < 1000 || code >= 8000);
      if (!final) continue;
      const reply = { code, lines: this.#lines };
      this.#lines = [];
      if (!this.#greeted && code === 1) {
        this.#greeted = true;
        continue;
      }
      done.push(reply);
    }
    return done;
  }
}

export class BirdError extends Error {
  constructor(readonly reply: BirdReply, command: string) {
    super(`birdc ${command}: ${reply.lines.map((l) => l.text).join(' ').trim() || `code ${reply.code}`}`);
    this.name = 'BirdError';
  }
}

/** Runs one command on BIRD's control socket; rejects on an error reply, a closed socket or the deadline. */
export function birdCommand(socket: string, command: string, timeoutMs = 5_000): Promise<BirdReply> {
  return new Promise((resolve, reject) => {
    const parser = new BirdReplyParser();
    const conn = createConnection(socket);
    const timer = setTimeout(() => finish(new Error(`birdc ${command}: no answer within ${timeoutMs} ms`)), timeoutMs);
    let settled = false;
    const finish = (error: Error | undefined, reply?: BirdReply) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.destroy();
      if (error) reject(error);
      else resolve(reply!);
    };
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(`${command}\n`));
    conn.on('data', (chunk: string) => {
      const [reply] = parser.push(chunk);
      if (reply) finish(reply.code >= 8000 ? new BirdError(reply, command) : undefined, reply);
    });
    conn.on('error', (e) => finish(new Error(`birdc ${command}: ${e.message}`)));
    conn.on('close', () => finish(new Error(`birdc ${command}: BIRD closed the control socket`)));
  });
}
