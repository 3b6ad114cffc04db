import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pickScenarios, SCENARIOS } from './run';
import { pinnedControllerArgv } from './scenarios/controller-down.scenario';

test('pickScenarios: all by default, the named ones in the given order, an unknown name refused with the known ones', () => {
  assert.deepEqual(pickScenarios(SCENARIOS, undefined).map((s) => s.name), ['rolling-restart-endpoint-first', 'rolling-restart-sigterm-first', 'rolling-restart-h2', 'rolling-restart-grpc', 'rolling-restart-tcp', 'rolling-restart-tcp-connect', 'replica-sigkill', 'replica-sigkill-post', 'controller-down', 'sidecar-restart-server', 'sidecar-restart-client', 'ca-down', 'root-rotation', 'net-blackhole', 'net-partition', 'net-loss', 'replica-503-burst', 'replica-slow', 'config-churn', 'connection-storm']);
  assert.deepEqual(pickScenarios(SCENARIOS, 'controller-down, replica-sigkill').map((s) => s.name), ['controller-down', 'replica-sigkill']);
  assert.throws(() => pickScenarios(SCENARIOS, 'replica-sigkill,nope'), /flag --scenarios: unknown scenario "nope" \(known: rolling-restart-endpoint-first, .*replica-slow.*\)/);
});

test('pinnedControllerArgv: the listen flags get the ports the controller had; a command line without them is refused', () => {
  const argv = ['node', 'ferry', 'controller', '--xds-address', '10.0.0.1:0', '--admin-address', '127.0.0.1:0', '--mtls-mode', 'STRICT'];
  assert.deepEqual(pinnedControllerArgv(argv, '10.0.0.1:41000', '127.0.0.1:41001'), ['node', 'ferry', 'controller', '--xds-address', '10.0.0.1:41000', '--admin-address', '127.0.0.1:41001', '--mtls-mode', 'STRICT']);
  assert.deepEqual(argv[4], '10.0.0.1:0', 'the input is not changed');
  assert.throws(() => pinnedControllerArgv(['node', 'ferry', 'controller', '--xds-address'], 'a:1', 'b:2'), /no --xds-address value/);
});
