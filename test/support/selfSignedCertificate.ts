// A throwaway TLS certificate for test servers (openssl, installed on every machine here): an EC key
// and a one-day self-signed certificate for one subject alternative name. The files are removed at once.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** `subjectAltName` as openssl writes it, e.g. `IP:127.0.0.1` or `DNS:auth.provider.example`. */
export function selfSignedCertificate(
  commonName: string,
  subjectAltName: string,
): { certificate: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'test-certificate-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        `/CN=${commonName}`,
        '-addext',
        `subjectAltName=${subjectAltName}`,
      ],
      { stdio: 'ignore' },
    );
    return {
      certificate: readFileSync(join(dir, 'cert.pem'), 'utf8'),
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
