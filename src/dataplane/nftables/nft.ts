// The thin I/O shell around the `nft` command: one transaction in, one table listing out.
import { readFile, writeFile } from 'node:fs/promises';
import { runCommand, type CommandError } from '../../runtime/command.js';

export interface NftRunner {
  /** Runs a script as one transaction (`nft -f -`): all of it is committed, or none. */
  run(script: string): Promise<void>;
  /** `nft -j list table <family> <name>`, or null when the table does not exist. */
  listTable(family: string, name: string): Promise<string | null>;
}

const missing = (err: CommandError): Error =>
  err.code === 'ENOENT' ? new Error('the nft command is missing: install nftables in the agent image') : err;

// Both commands run under runCommand's deadline: a wedged nft is killed and the sync reports it.
export const nftCommand: NftRunner = {
  run: async (script) => {
    try {
      await runCommand('nft', ['-f', '-'], { input: script });
    } catch (err) {
      const e = err as CommandError;
      if (e.code === 'ENOENT') throw missing(e);
      throw e.stderr !== undefined ? new Error(`nft -f failed (${e.code ?? e.signal}): ${e.stderr.trim()}`) : e;
    }
  },
  listTable: async (family, name) => {
    try {
      return (await runCommand('nft', ['-j', 'list', 'table', family, name])).stdout;
    } catch (err) {
      const e = err as CommandError;
      if (e.code === 'ENOENT') throw missing(e);
      if (/No such file or directory/.test(e.stderr ?? '')) return null;
      throw e.stderr !== undefined ? new Error(`nft list table failed: ${(e.stderr || e.message).trim()}`) : e;
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
