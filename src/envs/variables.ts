/** The variables a command run against a lease gets: WEB_PORT_80, WEB_URL, WEB_HOST, DOCKYARD_ENV. */
export function leaseVariables(name: string, services: Record<string, { ports: Record<string, number>; url(port?: number): string }>, host: string): Record<string, string> {
  const vars: Record<string, string> = { DOCKYARD_ENV: name };
  for (const [svc, s] of Object.entries(services)) {
    const key = svc.toUpperCase().replace(/[^A-Z0-9]/g, '_');
    for (const [port, hostPort] of Object.entries(s.ports)) {
      const [n, proto] = port.split('/');
      vars[`${key}_PORT_${n}${proto === 'udp' ? '_UDP' : ''}`] = String(hostPort);
    }
    if (Object.keys(s.ports).length) {
      vars[`${key}_HOST`] = host;
      vars[`${key}_URL`] = s.url();
    }
  }
  return vars;
}
