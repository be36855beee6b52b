import { describe, expect, it } from 'vitest';
import { EngineError, engineErrorKind, isConflict, isNotFound } from '../../src/errors.js';
import { engineError } from '../../src/engine/docker.js';

describe('engine errors by kind (from the HTTP status, never the wording)', () => {
  it.each([
    [304, 'not-modified'],
    [400, 'bad-request'],
    [401, 'unauthorized'],
    [403, 'forbidden'],
    [404, 'not-found'],
    [409, 'conflict'],
    [500, 'server'],
    [503, 'server'],
    [undefined, 'other'],
  ] as const)('%s is %s', (status, kind) => expect(engineErrorKind(status)).toBe(kind));

  it('dockerode errors become EngineErrors with their status; unreachable engines exit 3', () => {
    const conflict = engineError(Object.assign(new Error('x'), { statusCode: 409, json: { message: 'Conflict. The container name is already in use' } }), 'create container a');
    expect(conflict).toBeInstanceOf(EngineError);
    expect(isConflict(conflict)).toBe(true);
    expect(isNotFound(conflict)).toBe(false);
    expect(conflict.message).toBe('create container a: Conflict. The container name is already in use');
    expect(conflict.exitCode).toBe(4);
    const gone = engineError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'ping');
    expect(gone.code).toBe('ENGINE_UNREACHABLE');
    expect(gone.exitCode).toBe(3);
    // a streamed request (build): no json, the engine's words only in the message after the reason
    const streamed = engineError(Object.assign(new Error('(HTTP code 500) server error - forbidden path outside the build context: ../x () '), { statusCode: 500, reason: 'server error', json: null }), 'build');
    expect(streamed.message).toBe('build: forbidden path outside the build context: ../x ()');
  });
});
