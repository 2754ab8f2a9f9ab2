import { createVerifier } from '@tokenward/core';
import { makeKey } from '../../../test/support/keys';
import { startJwksServer } from '../../../test/support/jwks-server';
import { mint } from '../../../test/support/tokens';

test('a token signed by a published key verifies', async () => {
  const key = makeKey('RS256', 'k1');
  const server = await startJwksServer([key.jwk]);
  try {
    const verifier = createVerifier({ issuer: server.issuer, audience: 'api' });
    const token = await verifier.verify(mint(key, { issuer: server.issuer, audience: 'api' }), { scopes: ['read:messages'] });
    expect(token.subject).toBe('user-42');
    expect(server.metadataRequests).toBe(1);
  } finally {
    await server.close();
  }
});
