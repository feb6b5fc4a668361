/**
 * Throwaway X.509 material made with `openssl` at test time: a CA, a server certificate for 127.0.0.1 and
 * client certificates (CN = a client id), one signed by the CA and one self-signed, plus an encrypted key.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  ca: string;
  server: { key: string; cert: string };
  /** Signed by the CA, CN = `clientId`. */
  client: { key: string; cert: string };
  /** The same client key, encrypted with `passphrase`. */
  encryptedClientKey: string;
  passphrase: string;
  /** Self-signed, CN = `clientId` (not trusted by the server's CA). */
  selfSigned: { key: string; cert: string };
  dispose(): void;
}

export function makeTestPki(clientId: string): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'token-cache-pki-'));
  const f = (name: string) => join(dir, name);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=Test CA');
  writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1');
  ssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.crt'), '-days', '2', '-extfile', f('server.ext'));
  writeFileSync(f('client.ext'), 'extendedKeyUsage=clientAuth\n');
  ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('client.key'), '-out', f('client.csr'), '-subj', `/CN=${clientId}`);
  ssl('x509', '-req', '-in', f('client.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('client.crt'), '-days', '2', '-extfile', f('client.ext'));
  const passphrase = 'pki-pass-phrase-42';
  ssl('pkcs8', '-topk8', '-in', f('client.key'), '-out', f('client.enc.key'), '-v2', 'aes-256-cbc', '-passout', `pass:${passphrase}`);
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('self.key'), '-out', f('self.crt'), '-days', '2', '-subj', `/CN=${clientId}`);
  const read = (name: string) => readFileSync(f(name), 'utf8');
  const pki: TestPki = {
    ca: read('ca.crt'),
    server: { key: read('server.key'), cert: read('server.crt') },
    client: { key: read('client.key'), cert: read('client.crt') },
    encryptedClientKey: read('client.enc.key'),
    passphrase,
    selfSigned: { key: read('self.key'), cert: read('self.crt') },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
  rmSync(dir, { recursive: true, force: true });
  return pki;
}
