// Polling until a component answers, failing early when its process dies, with the log tail in the error.
import { request } from 'node:https';
import { request as plainRequest } from 'node:http';
import { readFileSync } from 'node:fs';
import type { ManagedProcess } from './managed-process.js';

export interface TlsClient {
  /** CA file that must have signed the server's certificate; omitted = do not verify (self-signed KCM). */
  ca?: string;
  cert?: string;
  key?: string;
}

/** The HTTP status of a GET, or an error text when there is no answer (connection refused, TLS failure). */
export function httpStatus(url: string, tls: TlsClient = {}): Promise<number | string> {
  return new Promise((resolve) => {
    const options = {
      timeout: 2_000,
      ca: tls.ca ? readFileSync(tls.ca) : undefined,
      cert: tls.cert ? readFileSync(tls.cert) : undefined,
      key: tls.key ? readFileSync(tls.key) : undefined,
      rejectUnauthorized: tls.ca !== undefined,
    };
    const req = url.startsWith('https:') ? request(url, options) : plainRequest(url, { timeout: options.timeout });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => resolve(err.message));
    req.end();
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `probe` every 100 ms until it returns true. Throws when `component` exits first or after `timeoutMs`;
 * the error says what was awaited, the last probe result, and the tail of the component's log.
 */
export async function waitUntil(
  what: string,
  component: ManagedProcess,
  timeoutMs: number,
  probe: () => Promise<true | string>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'not probed yet';
  for (;;) {
    if (!component.running) {
      throw new Error(`${component.name} ${component.exited ?? 'is not running'} while waiting for ${what}\n` +
        `--- last lines of ${component.spec.logFile} ---\n${component.logTail()}`);
    }
    const result = await probe();
    if (result === true) return;
    last = result;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last})\n` +
        `--- last lines of ${component.spec.logFile} ---\n${component.logTail()}`);
    }
    await sleep(100);
  }
}

/** A probe that is satisfied by HTTP 200 from `url`. */
export function http200(url: string, tls?: TlsClient): () => Promise<true | string> {
  return async () => {
    const status = await httpStatus(url, tls);
    return status === 200 ? true : `GET ${url}: ${status}`;
  };
}
