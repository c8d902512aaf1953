import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throwaway CA and a server certificate for 127.0.0.1 and localhost, made with openssl (PEM files). */
export interface LocalTls {
  readonly caFile: string;
  readonly cert: Buffer;
  readonly key: Buffer;
}

export function makeLocalTls(): LocalTls {
  const dir = mkdtempSync(join(tmpdir(), 'mb-tls-'));
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  run(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key']);
  run(['req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=meterbridge test CA', '-days', '2', '-out', 'ca.pem']);
  run(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'server.key']);
  run(['req', '-new', '-key', 'server.key', '-subj', '/CN=127.0.0.1', '-out', 'server.csr']);
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run([
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    'server.ext',
    '-out',
    'server.pem',
  ]);
  return {
    caFile: join(dir, 'ca.pem'),
    cert: readFileSync(join(dir, 'server.pem')),
    key: readFileSync(join(dir, 'server.key')),
  };
}
