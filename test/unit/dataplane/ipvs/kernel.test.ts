// The real kernel's answer to "is there an IPVS generic-netlink family?" (no root needed to ask). On a kernel
// without IPVS (this project's CI machine: 6.18 without CONFIG_IP_VS) the data plane must say what the node
// has to load; where ip_vs is loaded, the family must resolve.
import { expect, test } from '@jest/globals';
import { existsSync } from 'node:fs';
import { IPVS_MODULES, KernelFeatureMissing, openIpvsTransport } from '../../../../src/dataplane/ipvs/transport.js';

const loaded = existsSync('/sys/module/ip_vs');

test(`opening IPVS on this kernel (ip_vs ${loaded ? 'loaded' : 'absent'}) ${loaded ? 'resolves the family' : 'fails with KernelFeatureMissing naming the modules'}`, async () => {
  const opened = openIpvsTransport();
  if (loaded) {
    (await opened).close();
    return;
  }
  const err = await opened.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(KernelFeatureMissing);
  expect(err).toMatchObject({ reason: 'KernelFeatureMissing', feature: 'IPVS', modules: IPVS_MODULES });
  expect((err as Error).message).toContain('modprobe -a ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh ip_vs_mh ip_vs_lc nf_conntrack');
});
