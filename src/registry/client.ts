/**
 * A registry's HTTP API (distribution v2), for what the engine does not do: list a repository's
 * tags, read when each was made, and delete the old ones (`dockyard registry prune`).
 * http:// for registries on this host (127.0.0.1, localhost, [::1]), https:// otherwise.
 * Credentials are the docker CLI's (./auth.ts); the registry's challenge decides how they are
 * used: `Basic` (sent as they are) or `Bearer realm=,service=,scope=` (a token asked of the realm,
 * with the user and password, or an identity token as an OAuth refresh token), per scope.
 */
import { DockyardError } from '../errors.js';
import { DockerConfigCredentials, isDockerHub, refusedError } from './auth.js';
import type { Credential, CredentialStore } from './auth.js';

const MANIFESTS = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

export interface ImageRef {
  /** host[:port] */
  registry: string;
  /** the repository path, without the registry */
  repository: string;
  tag?: string;
}

/** `127.0.0.1:5000/team/app:1.2` into its parts; references without a registry host are Docker Hub's. */
export function parseRef(ref: string): ImageRef {
  const at = ref.indexOf('@');
  const noDigest = at >= 0 ? ref.slice(0, at) : ref;
  const colon = noDigest.lastIndexOf(':');
  const slash = noDigest.lastIndexOf('/');
  const [name, tag] = colon > slash ? [noDigest.slice(0, colon), noDigest.slice(colon + 1)] : [noDigest, undefined];
  const first = name.split('/')[0]!;
  if (name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost') && !isDockerHub(first)) {
    return { registry: first, repository: name.slice(first.length + 1), tag };
  }
  const rest = isDockerHub(first) && name.includes('/') ? name.slice(first.length + 1) : name;
  return { registry: 'registry-1.docker.io', repository: rest.includes('/') ? rest : `library/${rest}`, tag };
}

/** A `WWW-Authenticate` header: its scheme and parameters (`Bearer realm="...",service="...",scope="..."`). */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const m = /^\s*(\S+)\s*(.*)$/s.exec(header);
  const params: Record<string, string> = {};
  for (const p of (m?.[2] ?? '').matchAll(/([A-Za-z_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
  return { scheme: (m?.[1] ?? '').toLowerCase(), params };
}

export class RegistryClient {
  private readonly credentials: CredentialStore;
  private credential?: Promise<Credential | undefined>;
  /** Authorization headers that worked, per scope ('' for Basic: one for every request) */
  private readonly authorization = new Map<string, string>();

  constructor(
    readonly registry: string,
    credentials?: CredentialStore,
  ) {
    this.credentials = credentials ?? new DockerConfigCredentials();
  }

  private get base(): string {
    const host = this.registry.replace(/:\d+$/, '');
    const local = ['127.0.0.1', 'localhost', '[::1]'].includes(host) || host.startsWith('127.');
    return `${local ? 'http' : 'https'}://${this.registry}/v2`;
  }

  private cred(): Promise<Credential | undefined> {
    this.credential ??= this.credentials.get(this.registry);
    return this.credential;
  }

  private async send(url: string, init: RequestInit, what: string): Promise<Response> {
    try {
      return await fetch(url, init);
    } catch (e) {
      throw new DockyardError('ENGINE_UNREACHABLE', `cannot reach ${what}: ${(e as Error).message}`, { hint: 'is it running, and is the address right?' });
    }
  }

  /** The scope a request needs, when the challenge does not say (`repository:NAME:pull` / `:delete`). */
  private static scopeOf(method: string, path: string): string {
    const repo = /^\/(.+?)\/(?:tags|manifests|blobs)\//.exec(path)?.[1];
    return repo ? `repository:${repo}:${method === 'DELETE' ? 'delete' : 'pull'}` : '';
  }

  private async request(method: string, path: string, accept?: string): Promise<Response> {
    const headers: Record<string, string> = {};
    if (accept) headers.Accept = accept;
    const url = `${this.base}${path}`;
    const scope = RegistryClient.scopeOf(method, path);
    const known = this.authorization.get(scope) ?? this.authorization.get('');
    if (known) headers.Authorization = known;
    let res = await this.send(url, { method, headers }, `the registry ${this.registry}`);
    if (res.status !== 401) return res;
    const challenge = parseChallenge(res.headers.get('www-authenticate') ?? '');
    await res.body?.cancel();
    const cred = await this.cred();
    let authorization: string;
    if (challenge.scheme === 'bearer' && challenge.params.realm) {
      authorization = `Bearer ${await this.token(challenge.params, challenge.params.scope ?? scope, cred)}`;
      this.authorization.set(scope, authorization);
    } else if (challenge.scheme === 'basic') {
      const a = cred?.auth;
      if (!a?.username) throw refusedError(this.registry, cred, cred ? 'it asks for a user and password, and the credentials found have none' : undefined);
      if (known) throw refusedError(this.registry, cred);
      authorization = `Basic ${Buffer.from(`${a.username}:${a.password ?? ''}`).toString('base64')}`;
      this.authorization.set('', authorization);
    } else {
      throw refusedError(this.registry, cred, `it answers 401 with no challenge dockyard knows (${challenge.scheme || 'none'})`);
    }
    res = await this.send(url, { method, headers: { ...headers, Authorization: authorization } }, `the registry ${this.registry}`);
    if (res.status === 401) {
      await res.body?.cancel();
      throw refusedError(this.registry, cred);
    }
    return res;
  }

  /** A bearer token from the challenge's realm: OAuth with an identity token, else GET with basic credentials (or none). */
  private async token(params: Record<string, string>, scope: string, cred: Credential | undefined): Promise<string> {
    const realm = new URL(params.realm!);
    const a = cred?.auth;
    if (a?.registrytoken) return a.registrytoken;
    let res: Response;
    if (a?.identitytoken) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: a.identitytoken, client_id: 'dockyard' });
      if (params.service) form.set('service', params.service);
      if (scope) form.set('scope', scope);
      res = await this.send(realm.href, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form }, `the token server ${realm.host} of ${this.registry}`);
    } else {
      if (params.service) realm.searchParams.set('service', params.service);
      for (const s of scope ? scope.split(' ') : []) realm.searchParams.append('scope', s);
      if (a?.username) realm.searchParams.set('account', a.username);
      const headers: Record<string, string> = {};
      if (a?.username) headers.Authorization = `Basic ${Buffer.from(`${a.username}:${a.password ?? ''}`).toString('base64')}`;
      res = await this.send(realm.href, { headers }, `the token server ${realm.host} of ${this.registry}`);
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw refusedError(this.registry, cred, `its token server ${realm.host} said ${res.status}`);
    }
    if (!res.ok) throw new DockyardError('ENGINE', `the token server ${realm.host} of ${this.registry} answered HTTP ${res.status}`);
    const body = (await res.json().catch(() => ({}))) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new DockyardError('ENGINE', `the token server ${realm.host} of ${this.registry} gave no token`);
    return token;
  }

  async tags(repository: string): Promise<string[]> {
    const res = await this.request('GET', `/${repository}/tags/list`);
    if (res.status === 404) return [];
    if (!res.ok) throw new DockyardError('ENGINE', `list tags of ${this.registry}/${repository}: HTTP ${res.status}`);
    const body = (await res.json()) as { tags?: string[] | null };
    return body.tags ?? [];
  }

  /** The manifest's digest and when its image was made (from its config blob). */
  async describe(repository: string, tag: string): Promise<{ digest: string; created?: Date }> {
    const res = await this.request('GET', `/${repository}/manifests/${tag}`, MANIFESTS);
    if (!res.ok) throw new DockyardError('ENGINE', `read ${this.registry}/${repository}:${tag}: HTTP ${res.status}`);
    const digest = res.headers.get('docker-content-digest') ?? '';
    const manifest = (await res.json()) as { config?: { digest: string }; manifests?: Array<{ digest: string }> };
    let configDigest = manifest.config?.digest;
    if (!configDigest && manifest.manifests?.length) {
      // an index: the first image's config
      const sub = await this.request('GET', `/${repository}/manifests/${manifest.manifests[0]!.digest}`, MANIFESTS);
      configDigest = ((await sub.json()) as { config?: { digest: string } }).config?.digest;
    }
    let created: Date | undefined;
    if (configDigest) {
      const blob = await this.request('GET', `/${repository}/blobs/${configDigest}`);
      if (blob.ok) {
        const c = (await blob.json()) as { created?: string };
        if (c.created) created = new Date(c.created);
      }
    }
    return { digest, created };
  }

  async deleteManifest(repository: string, digest: string): Promise<void> {
    const res = await this.request('DELETE', `/${repository}/manifests/${digest}`);
    if (res.status === 405) throw new DockyardError('ENGINE', `the registry ${this.registry} does not allow deleting`, { hint: 'enable it in the registry\'s configuration (storage.delete.enabled: true)' });
    if (!res.ok && res.status !== 404) throw new DockyardError('ENGINE', `delete ${this.registry}/${repository}@${digest}: HTTP ${res.status}`);
  }
}

export interface PruneResult {
  repository: string;
  kept: string[];
  /** tags removed (or, in a dry run, to be removed), oldest last */
  removed: string[];
}

/**
 * Keeps the newest `keep` tags of a repository (by when their images were made), deletes the
 * others' manifests. A manifest a kept tag also points to is never deleted (deleting it would
 * take the kept tag with it).
 */
export async function pruneRepository(client: RegistryClient, repository: string, keep: number, dryRun = false): Promise<PruneResult> {
  const tags = await client.tags(repository);
  const described = await Promise.all(tags.map(async (tag) => ({ tag, ...(await client.describe(repository, tag)) })));
  described.sort((a, b) => (b.created?.getTime() ?? 0) - (a.created?.getTime() ?? 0) || b.tag.localeCompare(a.tag, undefined, { numeric: true }));
  const kept = described.slice(0, keep);
  const gone = described.slice(keep);
  const protectedDigests = new Set(kept.map((k) => k.digest));
  const removed: string[] = [];
  const deleted = new Set<string>();
  for (const g of gone) {
    if (protectedDigests.has(g.digest)) continue;
    removed.push(g.tag);
    if (dryRun || deleted.has(g.digest)) continue;
    await client.deleteManifest(repository, g.digest);
    deleted.add(g.digest);
  }
  return { repository, kept: kept.map((k) => k.tag), removed };
}
