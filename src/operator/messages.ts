// Bounded condition messages. Agents report up to 4 KiB each; a fleet-wide failure (a kernel upgrade that the
// verifier rejects) makes every LB pod report one, and concatenated they would exceed the CRD's 32 KiB per
// message, so the status patch would fail on every retry and the PLB keep a stale Ready. Each part is
// truncated, the whole is capped, and what was left out is counted. Pure.

/** Characters kept of one LB pod's message. */
export const PER_POD_CHARS = 300;
/** Characters kept of a condition message built from many parts. */
export const TOTAL_CHARS = 2048;

/** `text` cut to `max` characters, saying so. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const mark = ` … (${text.length - max} more characters)`;
  return text.slice(0, Math.max(0, max - mark.length)) + mark;
}

/**
 * Joins parts with "; " while the result stays within `max`, each part cut to `perPart`; the parts left out
 * are counted at the end ("… and 12 more LB pod(s)"), so the message never hides how many there are.
 */
export function joinBounded(parts: readonly string[], options: { perPart?: number; max?: number; noun?: string } = {}): string {
  const perPart = options.perPart ?? PER_POD_CHARS;
  const max = options.max ?? TOTAL_CHARS;
  const noun = options.noun ?? 'more';
  let out = '';
  for (let i = 0; i < parts.length; i++) {
    const part = truncate(parts[i]!, perPart);
    const left = parts.length - i - 1;
    const tail = left > 0 ? `; … and ${left} ${noun}` : '';
    const next = out ? `${out}; ${part}` : part;
    if (next.length + tail.length > max) {
      return out ? `${out}; … and ${parts.length - i} ${noun}` : truncate(`${part}${tail}`, max);
    }
    out = next;
  }
  return out;
}
