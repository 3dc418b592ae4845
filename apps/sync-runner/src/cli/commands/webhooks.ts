import { jsonDocument, jsonError } from '../../report/json-output.ts';
import { CALLBACK_SECRET, newWebhookSecret } from '../../service/webhooks.ts';
import type { StateStore } from '../../store/state-store.ts';
import { type CommandIO, errorMessage } from '../io.ts';
import { openCommandStore, type StoreOptions } from './setup.ts';

export interface WebhookSecretCommandOptions extends StoreOptions {
  /** Replace the secret that exists (deliveries still pending are signed with the new one). */
  readonly rotate?: boolean;
  readonly json?: boolean;
}

/**
 * `ferry webhooks secret`: creates the `whsec_…` secret that signs per-run callbacks
 * (`Ferry-Async-Callback-Url`) and prints it once. The service needs it to sign, so the store keeps
 * it; it is never in a response, log line or delivery. A second call refuses unless `--rotate`.
 */
export const webhookSecretCommand = async (
  options: WebhookSecretCommandOptions,
  io: CommandIO,
): Promise<number> => {
  let store: StateStore | undefined;
  try {
    store = await openCommandStore(options, io);
    const existing = await store.getServiceSecret(CALLBACK_SECRET);
    if (existing !== undefined && options.rotate !== true)
      throw new Error(
        `[ferry] a callback signing secret exists (created ${new Date(existing.createdAt).toISOString()}); ` +
          'it was shown when it was created. `ferry webhooks secret --rotate` replaces it.',
      );
    const secret = newWebhookSecret();
    await store.setServiceSecret(CALLBACK_SECRET, secret, Date.now());
    if (options.json === true)
      io.stdout.write(jsonDocument('webhooks', 0, { secret, rotated: existing !== undefined }));
    else
      io.stdout.write(
        `${secret}\n\nThe callback signing secret ${existing === undefined ? 'is created' : 'is replaced'}. ` +
          'Receivers of Ferry-Async-Callback-Url callbacks verify with it. It is shown only now: keep it in a secret store.\n',
      );
    return 0;
  } catch (error) {
    if (options.json === true) io.stdout.write(jsonError('webhooks', errorMessage(error)));
    io.stderr.write(`${errorMessage(error)}\n`);
    return 1;
  } finally {
    await store?.close();
  }
};
