import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createVerifier } from '@tokenward/core';
import { makeKey } from '../../../test/support/keys';
import { mint } from '../../../test/support/tokens';

describe('a key fetch whose connection is dropped before any answer', () => {
  test('is tried once more, so a keep-alive socket closed by the server is no outage', async () => {
    const key = makeKey('ES256', 'k1');
    let requests = 0;
    const server = createServer((req, res) => {
      requests++;
      // The first request dies the way a reused keep-alive socket does when the server closes it.
      if (requests === 1) {
        req.socket.destroy();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [key.jwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const verifier = createVerifier({ issuer, audience: 'api', jwksUri: `${issuer}/jwks.json` });
      await expect(verifier.verify(mint(key, { issuer, audience: 'api' }))).resolves.toMatchObject({ subject: 'user-42' });
      expect(requests).toBe(2);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('is not tried a third time: a source that keeps dropping is unavailable', async () => {
    const key = makeKey('ES256', 'k1');
    let requests = 0;
    const server = createServer((req) => {
      requests++;
      req.socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const verifier = createVerifier({ issuer, audience: 'api', jwksUri: `${issuer}/jwks.json` });
      await expect(verifier.verify(mint(key, { issuer, audience: 'api' }))).rejects.toMatchObject({ reason: 'jwks_unavailable', status: 503 });
      expect(requests).toBe(2);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
