/**
 * Finishing touches on the OpenAPI document @fastify/swagger builds, so that a client generator
 * takes it as it is: the `servers` it should call, and the `mapping` of each discriminator (OpenAPI
 * selects a `oneOf` branch by name; ajv, which validates the same schemas, refuses `mapping`, so the
 * route schemas cannot carry it).
 */
import type { AddressInfo } from 'node:net';

/**
 * Where clients reach the API: the configured host and the port actually bound (port 0 in tests).
 * A wildcard bind (0.0.0.0, ::) is reachable under any of the machine's names: `localhost` is
 * listed, with a description saying so.
 */
export function openApiServers(
  host: string,
  bound: AddressInfo | string | null,
  configuredPort: number,
): Array<{ url: string; description: string }> {
  const port = bound !== null && typeof bound === 'object' ? bound.port : configuredPort;
  const wildcard = host === '0.0.0.0' || host === '::' || host === '';
  const name = wildcard ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  const description = wildcard
    ? `this daemon (bound to ${host || 'every address'}: use the host name clients know it by)`
    : 'this daemon (config http.host and http.port)';
  return [{ url: `http://${name}:${port}`, description }];
}

type Json = unknown;

/**
 * Adds `discriminator.mapping` wherever a discriminator selects among `$ref` branches: the value of
 * the discriminating property in each referenced schema (its `enum` of one, or `const`) → the ref.
 */
export function withDiscriminatorMappings<T extends { components?: { schemas?: Record<string, Json> } }>(doc: T): T {
  const schemas = doc.components?.schemas ?? {};
  const tagValue = (ref: string, prop: string): string | undefined => {
    const name = ref.replace(/^#\/components\/schemas\//, '');
    const p = (schemas[name] as { properties?: Record<string, { enum?: unknown[]; const?: unknown }> } | undefined)?.properties?.[prop];
    const v = p?.const ?? (p?.enum?.length === 1 ? p.enum[0] : undefined);
    return typeof v === 'string' ? v : undefined;
  };
  const visit = (node: Json): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== 'object') return;
    const o = node as { discriminator?: { propertyName: string; mapping?: Record<string, string> }; oneOf?: Array<{ $ref?: string }> };
    if (
      o.discriminator &&
      o.discriminator.mapping === undefined &&
      Array.isArray(o.oneOf) &&
      o.oneOf.every((b) => typeof b.$ref === 'string')
    ) {
      const mapping: Record<string, string> = {};
      for (const b of o.oneOf) {
        const v = tagValue(b.$ref!, o.discriminator.propertyName);
        if (v !== undefined) mapping[v] = b.$ref!;
      }
      o.discriminator = { ...o.discriminator, mapping };
    }
    for (const v of Object.values(node)) visit(v);
  };
  visit(doc);
  return doc;
}
