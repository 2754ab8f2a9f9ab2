/**
 * Certificates for mutual-TLS tests, made with the openssl CLI (on every machine here; .ci/run
 * installs it when missing): a test CA, a server certificate for 127.0.0.1, and client
 * certificates, each with the RFC 8705 thumbprint a token bound to it carries (`x5t#S256`, the
 * base64url SHA-256 of its DER).
 */
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pem {
  key: string;
  cert: string;
}

export interface ClientCertificate extends Pem {
  /** DER of the certificate. */
  der: Buffer;
  /** `cnf["x5t#S256"]` of a token bound to it. */
  x5tS256: string;
  /** The RFC 9440 Client-Cert header value (`:<base64 DER>:`). */
  header: string;
}

export interface TestPki {
  ca: Pem;
  server: Pem;
  client(name: string): ClientCertificate;
}

/** A CA with a server certificate for 127.0.0.1 and as many client certificates as asked for. */
export function makePki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'tokenward-pki-'));
  // The CA key stays on disk for client certificates made later; the folder goes with the process.
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const read = (name: string) => readFileSync(join(dir, name), 'utf8');
  const p256 = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  /** A certificate for `name` signed by the CA, with the X.509 extensions given. */
  const issue = (name: string, extensions: string): Pem => {
    writeFileSync(join(dir, `${name}.ext`), extensions);
    openssl('req', ...p256, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`);
    return { key: read(`${name}.key`), cert: read(`${name}.crt`) };
  };

  openssl('req', '-x509', ...p256, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=tokenward test CA', '-days', '2');
  const ca = { key: read('ca.key'), cert: read('ca.crt') };
  const server = issue('server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  const clients = new Map<string, ClientCertificate>();
  return {
    ca,
    server,
    client(name) {
      let made = clients.get(name);
      if (made === undefined) {
        const pem = issue(name, 'extendedKeyUsage=clientAuth\n');
        const der = new X509Certificate(pem.cert).raw;
        made = { ...pem, der, x5tS256: createHash('sha256').update(der).digest('base64url'), header: `:${der.toString('base64')}:` };
        clients.set(name, made);
      }
      return made;
    },
  };
}
