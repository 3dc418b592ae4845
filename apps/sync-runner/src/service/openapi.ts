import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';

/*
 * The OpenAPI 3.1 document, generated from the zod schemas the routes validate with, served at
 * /openapi.json without a token (it holds no data). Register before the routes.
 */

export const registerOpenApi = async (app: FastifyInstance, version: string): Promise<void> => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Ferry service',
        version,
        description: 'Syncs as asynchronous bulk jobs: start a run, follow it, download its results.',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: '`ferry tokens create`' } },
      },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
};

export const openApiRoute = (app: FastifyInstance): void => {
  app.get('/openapi.json', { config: { auth: false }, schema: { hide: true } }, async () => app.swagger());
};
