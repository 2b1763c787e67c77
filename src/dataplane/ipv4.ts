// IPv4 literals <-> the 32-bit values the kernel keeps in network byte order.

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function isIpv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((p) => OCTET.test(p));
}

/** Bytes in wire order, as they sit in a packet or a BPF map key. */
export function ipv4Bytes(text: string): Buffer {
  if (!isIpv4(text)) throw new Error(`not an IPv4 address: ${text}`);
  return Buffer.from(text.split('.').map((p) => Number(p)));
}

export function ipv4FromBytes(buf: Buffer, offset = 0): string {
  return [0, 1, 2, 3].map((i) => buf.readUInt8(offset + i)).join('.');
}
