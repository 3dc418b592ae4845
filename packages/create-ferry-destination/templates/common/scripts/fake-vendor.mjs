// Starts the loopback fake bulk vendor the tests use, for trying the plugin with `ferry verify` and
// `ferry sync` before the real vendor's sandbox is at hand: npm run fake-vendor (PORT=4020 default).
import { startFakeBulkVendor } from '@ferry/core/testing/fake-vendor';

const vendor = await startFakeBulkVendor({ port: Number(process.env.PORT ?? 4020), processingMs: 200 });
process.stdout.write(`fake vendor listening on ${vendor.url} (Ctrl-C to stop)\n`);
process.on('SIGINT', () => vendor.close().then(() => process.exit(0)));
