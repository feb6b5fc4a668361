// The scanner's encodings: each one is found when planted, and the library's redaction removes every one
// (checked against this independent generator, not against the library's own list of forms).
import { redact } from '../../libs/token-cache/src/core/redact.js';
import { describe, expect, it } from 'vitest';
import { echoOf, encodingsOf, findLeaks } from './secret-encodings.js';

const SECRETS = ['cs-7f3a91d2+client/secret=value~ x', 'rt-51c0ffee/initial+refresh=token', 'plain-alnum-secret-0123456789', 'pä$$wörd with "quotes" & \\ slashes'];

describe('secret encodings', () => {
  it.each(SECRETS)('finds every encoding of %s when planted in an output', (secret) => {
    for (const { encoding, text } of encodingsOf(secret)) {
      expect(findLeaks([secret], [{ what: 'x', text: `before ${text} after` }]), encoding).not.toEqual([]);
    }
    // Inside a base64 blob at every alignment (a Basic credential).
    for (const prefix of ['', 'a:', 'ab:', 'svc:']) {
      for (const enc of ['base64', 'base64url'] as const) {
        expect(findLeaks([secret], [{ what: 'x', text: Buffer.from(`${prefix}${secret}:tail`).toString(enc) }]), `${enc} ${prefix}`).not.toEqual([]);
      }
    }
  });

  it.each(SECRETS)("the library's redaction removes every encoding of %s, alone and inside blobs", (secret) => {
    const echoed = echoOf([secret]);
    expect(findLeaks([secret], [{ what: 'echo', text: echoed }])).not.toEqual([]);
    expect(findLeaks([secret], [{ what: 'redacted', text: redact(echoed, [secret]) }])).toEqual([]);
  });
});
