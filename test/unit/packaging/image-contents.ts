// hack/image-contents.txt read as data: the one list of what the image holds, which the Dockerfile and
// hack/image-rootfs.sh / hack/image-oci.sh both follow (their lines are compared with it by the packaging tests).
export interface ImageContents {
  packages: string[];
  copies: Array<{ src: string; dest: string }>;
  links: Array<{ path: string; target: string }>;
  user: { uid: number; name: string };
  env: string[];
  workdir: string;
  expose: string[];
  cmd: string[];
  labels: Record<string, string>;
}

export function parseImageContents(text: string): ImageContents {
  const c: ImageContents = { packages: [], copies: [], links: [], user: { uid: -1, name: '' }, env: [], workdir: '', expose: [], cmd: [], labels: {} };
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const [kind, ...rest] = line.split(/\s+/);
    const value = line.slice(kind!.length).trim();
    const bad = () => new Error(`hack/image-contents.txt line ${i + 1}: cannot read "${line}"`);
    switch (kind) {
      case 'package': c.packages.push(value); break;
      case 'copy': if (rest.length !== 2) throw bad(); c.copies.push({ src: rest[0]!, dest: rest[1]! }); break;
      case 'link': if (rest.length !== 2) throw bad(); c.links.push({ path: rest[0]!, target: rest[1]! }); break;
      case 'user': c.user = { uid: Number(rest[0]), name: rest[1] ?? '' }; break;
      case 'env': c.env.push(value); break;
      case 'workdir': c.workdir = value; break;
      case 'expose': c.expose.push(value); break;
      case 'cmd': c.cmd.push(value); break;
      case 'label': {
        const eq = value.indexOf('=');
        if (eq < 0) throw bad();
        c.labels[value.slice(0, eq)] = value.slice(eq + 1);
        break;
      }
      default: throw bad();
    }
  });
  return c;
}

/** A Dockerfile LABEL instruction's key="value" pairs. */
export function dockerLabels(args: string): Record<string, string> {
  return Object.fromEntries([...args.matchAll(/(\S+?)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
}
