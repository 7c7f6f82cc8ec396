import type { FastifyInstance } from 'fastify';
import { type DatasetRegistry, describeDataset } from '../../datasets/registry.js';
import type { Authenticate } from '../auth.js';

/** `GET /v1/datasets`: what the caller may export, with parameters and columns. */
export async function datasetRoutes(
  app: FastifyInstance,
  options: { datasets: DatasetRegistry; authenticate: Authenticate },
): Promise<void> {
  app.get('/v1/datasets', async (request) => {
    const principal = await options.authenticate(request);
    return { datasets: options.datasets.list(principal).map(describeDataset) };
  });
}
