import type { FastifyInstance } from 'fastify';
import { type DatasetRegistry, describeDataset } from '../../datasets/registry.js';
import { principalOf } from '../auth.js';

/** `GET /v1/datasets`: what the caller may export, with parameters and columns. */
export async function datasetRoutes(
  app: FastifyInstance,
  options: { datasets: DatasetRegistry },
): Promise<void> {
  app.get('/v1/datasets', async (request, reply) => {
    const principal = principalOf(request);
    // Each caller sees its own list: no shared cache keeps it, and a client asks again.
    reply.header('cache-control', 'private, no-cache');
    return { datasets: options.datasets.list(principal).map(describeDataset) };
  });
}
