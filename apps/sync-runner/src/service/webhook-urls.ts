import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/*
 * Webhook URLs are http(s) only, and a host that resolves to a private, loopback, link-local or
 * otherwise internal address is refused (the service must not become a way into the network it
 * runs in) unless the operator allows it (`--allow-private-webhooks`; the tests do). Checked when
 * the endpoint is created and again before every delivery (DNS can change).
 */

const internal = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  internal.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  internal.addSubnet(network, prefix, 'ipv6');

const isInternal = (address: string): boolean => {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped !== undefined) return internal.check(mapped, 'ipv4');
  return internal.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
};

export class WebhookUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookUrlError';
  }
}

/** Throws a WebhookUrlError saying why the URL may not receive webhooks. */
export const checkWebhookUrl = async (text: string, allowPrivate: boolean): Promise<URL> => {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new WebhookUrlError('not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new WebhookUrlError('only http and https URLs');
  if (url.username !== '' || url.password !== '')
    throw new WebhookUrlError('credentials in the URL are not allowed');
  if (allowPrivate) return url;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: { address: string }[];
  try {
    addresses = isIP(host) === 0 ? await lookup(host, { all: true }) : [{ address: host }];
  } catch {
    throw new WebhookUrlError(`the host ${host} does not resolve`);
  }
  if (addresses.some(({ address }) => isInternal(address)))
    throw new WebhookUrlError(`the host ${host} resolves to a private, loopback or link-local address`);
  return url;
};
