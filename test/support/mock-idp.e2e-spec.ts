import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockIdp, type MockIdp } from './mock-idp.js';

describe('mock IdP (test support)', () => {
  let idp: MockIdp;
  beforeAll(async () => (idp = await startMockIdp({ expiresIn: 60 })));
  afterAll(() => idp.close());

  it('issues verifiable tokens with the configured lifetime and counts requests', async () => {
    const res = await fetch(idp.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('c:s').toString('base64')}` },
      body: 'grant_type=client_credentials&scope=a',
    });
    const body = (await res.json()) as { access_token: string; expires_in: number };
    expect(body.expires_in).toBe(60);
    const claims = await idp.verify(body.access_token);
    expect(claims.exp! - claims.iat!).toBe(60);
    expect(idp.tokenRequests).toBe(1);
    await expect(idp.verify(`${body.access_token}x`)).rejects.toThrow();
  });
});
