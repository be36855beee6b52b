/**
 * deploy: the Swarm service specs sent to the Engine API for the keys the engine test does not
 * reach (global mode, placement, ingress ports, rollback, health check), through a recording
 * Engine; and the error when the engine is not a Swarm manager.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { deployStack } from '../../src/deploy/swarm.js';
import type { Engine } from '../../src/engine/engine.js';
import { loadProject } from '../../src/load/index.js';
import { cleanupTrees, tree } from '../helpers/fs.js';

afterAll(cleanupTrees);

function recorder(state = 'active') {
  const calls: Array<[string, Record<string, any>]> = [];
  const engine = {
    swarmState: async () => state,
    listSwarm: async () => [],
    inspectNetwork: async () => undefined,
    createNetwork: async (b: Record<string, unknown>) => (calls.push(['network', b]), 'n1'),
    createSwarm: async (kind: string, b: Record<string, unknown>) => (calls.push([kind, b]), `${kind}-id`),
    removeSwarm: async () => undefined,
    // the registry knows a:1 only
    registryDigest: async (image: string) => {
      if (image === 'a:1') return 'sha256:aaaa';
      throw new Error(`distribution ${image}: no such manifest`);
    },
  } as unknown as Engine;
  return { engine, calls };
}

const load = (yaml: string) => loadProject({ workingDir: tree({ 'compose.yaml': yaml }), projectName: 'st', environment: {} });

describe('deploy specs', () => {
  it('maps deploy keys, ports and health checks onto the service spec', async () => {
    const { engine, calls } = recorder();
    const r = await deployStack(engine, load(`
services:
  agent:
    image: a:1
    deploy: { mode: global, placement: { constraints: [node.role==manager], preferences: [{ spread: node.labels.zone }], max_replicas_per_node: 2 } }
  api:
    image: b:1
    build: .
    restart: on-failure:3
    ports: ["8080:80", "9000:9000/udp"]
    healthcheck: { test: ["CMD", "true"], interval: 2s, retries: 4 }
    networks: { back: { aliases: [b] } }
    deploy:
      endpoint_mode: dnsrr
      rollback_config: { parallelism: 2, failure_action: pause }
      resources: { reservations: { cpus: "0.25" } }
networks:
  back: { driver_opts: { encrypted: "" } }
`), { detach: true });
    expect(r.ignored).toEqual(['services.api.build']);
    const nets = calls.filter(([k]) => k === 'network').map(([, b]) => [b.Name, b.Driver, b.Attachable]);
    expect(nets.sort()).toEqual([['st_back', 'overlay', true], ['st_default', 'overlay', true]]);
    const svc = Object.fromEntries(calls.filter(([k]) => k === 'services').map(([, b]) => [b.Name, b]));
    expect(svc.st_agent!.Mode).toEqual({ Global: {} });
    expect(svc.st_agent!.TaskTemplate.Placement).toEqual({ Constraints: ['node.role==manager'], Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.zone' } }], MaxReplicas: 2 });
    expect(svc.st_agent!.TaskTemplate.Networks).toEqual([{ Target: 'st_default', Aliases: ['agent'] }]);
    const api = svc.st_api!;
    expect(api.Mode).toEqual({ Replicated: { Replicas: 1 } });
    expect(api.EndpointSpec).toEqual({ Mode: 'dnsrr', Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }, { Protocol: 'udp', TargetPort: 9000, PublishedPort: 9000, PublishMode: 'ingress' }] });
    expect(api.TaskTemplate.ContainerSpec.Healthcheck).toMatchObject({ Test: ['CMD', 'true'], Interval: 2e9, Retries: 4 });
    expect(api.TaskTemplate.Networks).toEqual([{ Target: 'st_back', Aliases: ['api', 'b'] }]);
    expect(api.RollbackConfig).toMatchObject({ Parallelism: 2, FailureAction: 'pause' });
    expect(api.TaskTemplate.Resources.Reservations).toEqual({ NanoCPUs: 250_000_000 });
    // restart: translated when deploy.restart_policy does not say (a job is not restarted forever)
    expect(api.TaskTemplate.RestartPolicy).toEqual({ Condition: 'on-failure', MaxAttempts: 3 });
    expect(svc.st_agent!.TaskTemplate.RestartPolicy).toEqual({ Condition: 'any' });
    expect(api.Labels['com.docker.stack.namespace']).toBe('st');
    // images pinned to their registry digest where the registry knows them; the label as written
    expect(svc.st_agent!.TaskTemplate.ContainerSpec.Image).toBe('a:1@sha256:aaaa');
    expect(svc.st_agent!.Labels['com.docker.stack.image']).toBe('a:1');
    expect(api.TaskTemplate.ContainerSpec.Image).toBe('b:1');
    expect(r.unresolved).toEqual([{ image: 'b:1', reason: 'no such manifest' }]);
  });

  it('refuses an engine that is not a Swarm manager, creating nothing', async () => {
    const { engine, calls } = recorder('inactive');
    await expect(deployStack(engine, load('services:\n  a:\n    image: x\n'))).rejects.toThrow(/not part of a Swarm \(its state: inactive\)/);
    expect(calls).toEqual([]);
  });
});
