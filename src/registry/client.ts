/**
 * A registry's HTTP API (distribution v2), for what the engine does not do: list a repository's
 * tags, read when each was made, and delete the old ones (`dockyard registry prune`).
 * http:// for registries on this host (127.0.0.1, localhost, [::1]), https:// otherwise;
 * anonymous access, or a bearer token / basic credentials from DOCKYARD_REGISTRY_AUTH.
 */
import { DockyardError } from '../errors.js';

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
  if (name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    return { registry: first, repository: name.slice(first.length + 1), tag };
  }
  return { registry: 'registry-1.docker.io', repository: name.includes('/') ? name : `library/${name}`, tag };
}

export class RegistryClient {
  constructor(
    readonly registry: string,
    private readonly auth = process.env.DOCKYARD_REGISTRY_AUTH,
  ) {}

  private get base(): string {
    const host = this.registry.replace(/:\d+$/, '');
    const local = ['127.0.0.1', 'localhost', '[::1]'].includes(host) || host.startsWith('127.');
    return `${local ? 'http' : 'https'}://${this.registry}/v2`;
  }

  private async request(method: string, path: string, accept?: string): Promise<Response> {
    const headers: Record<string, string> = {};
    if (accept) headers.Accept = accept;
    if (this.auth) headers.Authorization = this.auth.includes(' ') ? this.auth : `Bearer ${this.auth}`;
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, { method, headers });
    } catch (e) {
      throw new DockyardError('ENGINE_UNREACHABLE', `cannot reach the registry ${this.registry}: ${(e as Error).message}`, { hint: 'is it running, and is the address right?' });
    }
    if (res.status === 401) throw new DockyardError('ENGINE', `the registry ${this.registry} asks for credentials`, { hint: 'set DOCKYARD_REGISTRY_AUTH to a bearer token, or to "Basic <base64 user:password>"' });
    return res;
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
