// The thin I/O shell around the `nft` command: one transaction in, one table listing out.
import { execFile, spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface NftRunner {
  /** Runs a script as one transaction (`nft -f -`): all of it is committed, or none. */
  run(script: string): Promise<void>;
  /** `nft -j list table <family> <name>`, or null when the table does not exist. */
  listTable(family: string, name: string): Promise<string | null>;
}

const missing = (err: NodeJS.ErrnoException): Error =>
  err.code === 'ENOENT' ? new Error('the nft command is missing: install nftables in the agent image') : err;

export const nftCommand: NftRunner = {
  run: (script) => new Promise((resolve, reject) => {
    const child = spawn('nft', ['-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', (err) => reject(missing(err)));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`nft -f failed (${code}): ${stderr.trim()}`))));
    child.stdin.end(script);
  }),
  listTable: async (family, name) => {
    try {
      return (await exec('nft', ['-j', 'list', 'table', family, name], { maxBuffer: 64 << 20 })).stdout;
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string };
      if (e.code === 'ENOENT') throw missing(e);
      if (/No such file or directory/.test(e.stderr ?? '')) return null;
      throw new Error(`nft list table failed: ${(e.stderr ?? e.message).trim()}`);
    }
  },
};

/**
 * Sets per-netns sysctls given as paths under /proc/sys (`net/ipv4/ip_forward`: slashes, because interface
 * names may contain dots), reporting which could not be written (a read-only /proc/sys: unprivileged pod).
 */
export async function writeSysctls(values: Record<string, string>): Promise<string[]> {
  const failed: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    const path = `/proc/sys/${key}`;
    try {
      if ((await readFile(path, 'utf8')).trim() !== value) await writeFile(path, value);
    } catch (err) {
      failed.push(`${key}=${value} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
  return failed;
}
