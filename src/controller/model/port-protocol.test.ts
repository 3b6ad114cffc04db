// Port protocol classification: appProtocol, then the name prefix, then server-first port numbers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { portProtocol } from './core-objects';

test('port protocols', () => {
  const table: [string | null, string, number, string][] = [
    ['http', 'web', 80, 'http'],
    [null, 'http-web', 80, 'http'],
    [null, 'grpc', 9090, 'grpc'],
    [null, 'tcp-cache', 7000, 'tcp'],
    [null, 'db', 3306, 'tcp'], // MySQL speaks first: never sniffed
    [null, '', 5432, 'tcp'],
    [null, 'cache', 6379, 'tcp'],
    [null, 'smtp', 25, 'tcp'],
    [null, 'submission', 587, 'tcp'],
    [null, 'memcache', 11211, 'tcp'],
    [null, 'web', 8080, 'unknown'],
    ['http', 'api', 5432, 'http'], // the Service's word beats the number
  ];
  for (const [app, name, port, want] of table) assert.equal(portProtocol(app, name, port), want, `${app} ${name} ${port}`);
});
