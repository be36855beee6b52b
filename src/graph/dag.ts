/** A dependency graph of named nodes: cycles, order, layers, critical path. */

export class Dag {
  /** node -> the nodes it depends on */
  readonly deps = new Map<string, Set<string>>();

  addNode(n: string): void {
    if (!this.deps.has(n)) this.deps.set(n, new Set());
  }

  addEdge(from: string, dependsOn: string): void {
    this.addNode(from);
    this.addNode(dependsOn);
    this.deps.get(from)!.add(dependsOn);
  }

  nodes(): string[] {
    return [...this.deps.keys()];
  }

  dependents(n: string): string[] {
    return this.nodes().filter((m) => this.deps.get(m)!.has(n));
  }

  /** A cycle as a path [a, b, c, a], or undefined. Deterministic: nodes visited in sorted order. */
  findCycle(): string[] | undefined {
    const state = new Map<string, 1 | 2>();
    const stack: string[] = [];
    const visit = (n: string): string[] | undefined => {
      state.set(n, 1);
      stack.push(n);
      for (const d of [...this.deps.get(n)!].sort()) {
        const st = state.get(d);
        if (st === 1) return [...stack.slice(stack.indexOf(d)), d];
        if (st === undefined) {
          const c = visit(d);
          if (c) return c;
        }
      }
      stack.pop();
      state.set(n, 2);
      return undefined;
    };
    for (const n of [...this.deps.keys()].sort()) {
      if (state.get(n) === undefined) {
        const c = visit(n);
        if (c) return c;
      }
    }
    return undefined;
  }

  /** Layers: layer 0 has no dependencies, layer k depends only on earlier layers. Throws on a cycle. */
  layers(): string[][] {
    const depth = new Map<string, number>();
    const get = (n: string, seen: Set<string>): number => {
      const known = depth.get(n);
      if (known !== undefined) return known;
      if (seen.has(n)) throw new Error(`dependency cycle through ${n}`);
      seen.add(n);
      let d = 0;
      for (const x of this.deps.get(n)!) d = Math.max(d, get(x, seen) + 1);
      seen.delete(n);
      depth.set(n, d);
      return d;
    };
    const out: string[][] = [];
    for (const n of [...this.deps.keys()].sort()) {
      const d = get(n, new Set());
      (out[d] ??= []).push(n);
    }
    return out.map((l) => l ?? []);
  }

  /** Topological order: dependencies first. */
  order(): string[] {
    return this.layers().flat();
  }

  /** The nodes `roots` need, transitively, including the roots. */
  closure(roots: Iterable<string>): Set<string> {
    const out = new Set<string>();
    const walk = (n: string) => {
      if (out.has(n) || !this.deps.has(n)) return;
      out.add(n);
      for (const d of this.deps.get(n)!) walk(d);
    };
    for (const r of roots) walk(r);
    return out;
  }

  /** The longest path by weight (e.g. measured durations): [path, total]. */
  criticalPath(weight: (n: string) => number): { path: string[]; total: number } {
    const memo = new Map<string, { path: string[]; total: number }>();
    const best = (n: string): { path: string[]; total: number } => {
      const m = memo.get(n);
      if (m) return m;
      let top = { path: [] as string[], total: 0 };
      for (const d of this.deps.get(n)!) {
        const b = best(d);
        if (b.total > top.total) top = b;
      }
      const r = { path: [...top.path, n], total: top.total + weight(n) };
      memo.set(n, r);
      return r;
    };
    let top = { path: [] as string[], total: 0 };
    for (const n of this.deps.keys()) {
      const b = best(n);
      if (b.total > top.total) top = b;
    }
    return top;
  }
}
