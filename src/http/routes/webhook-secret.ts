/**
 * `GET /v1/webhook-secret`: the caller's own webhook secrets, the ones their per-export
 * webhooks are signed with (derived from the service secrets for this owner, one per service
 * secret, newest first while they rotate). Never the service secrets themselves, which sign
 * only the service-wide webhook. Answered `no-store`, and never logged.
 */
import type { FastifyInstance } from 'fastify';
import { TakeoutError } from '../../errors.js';
import { ownerOf } from '../../jobs/owner.js';
import { ownerWebhookSecrets } from '../../notify/signing.js';
import { principalOf } from '../auth.js';

export interface WebhookSecretRouteOptions {
  /** The service secrets (`TAKEOUT_WEBHOOK_SECRET`), newest first; none: the route answers 404. */
  secrets: readonly string[];
}

export async function webhookSecretRoutes(
  app: FastifyInstance,
  options: WebhookSecretRouteOptions,
): Promise<void> {
  app.get('/v1/webhook-secret', async (request, reply) => {
    reply.header('cache-control', 'no-store');
    if (options.secrets.length === 0) {
      throw new TakeoutError('not_found', 'This service signs no webhooks: it has no TAKEOUT_WEBHOOK_SECRET');
    }
    // The owner exactly as the job store matches exports (the id and tenant of the principal).
    return { secrets: ownerWebhookSecrets(options.secrets, ownerOf(principalOf(request))) };
  });
}
