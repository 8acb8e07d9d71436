// fast-check values from the JSON schemas of the OpenAPI document, so the REST fuzz reaches past validation into
// the handlers: values that follow a schema (types, enums, patterns, bounds, required members) and values that
// break it in one place (a member dropped or added, a value of another type, a bound crossed). The subset of JSON
// Schema the route schemas use is covered; anything else gets arbitrary JSON.
import fc from 'fast-check';

export type Schema = Record<string, unknown>;
type Json = unknown;

/** Resolves `#/components/schemas/X` references against the document. */
export type Resolver = (schema: Schema) => Schema;

export function resolverFor(doc: { components?: { schemas?: Record<string, Schema> } }): Resolver {
  return (schema) => {
    const ref = schema.$ref;
    if (typeof ref !== 'string') return schema;
    const name = ref.replace('#/components/schemas/', '');
    return doc.components?.schemas?.[name] ?? {};
  };
}

const anyJson = fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>;

/** A value that follows the schema (as far as the subset goes). */
export function valid(schema: Schema, resolve: Resolver, depth = 0): fc.Arbitrary<Json> {
  const s = resolve(schema);
  if (depth > 4) return fc.constant(null);
  if ('const' in s) return fc.constant(s.const);
  if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as Json[]));
  for (const key of ['oneOf', 'anyOf'] as const) {
    if (Array.isArray(s[key])) return fc.oneof(...(s[key] as Schema[]).map((sub) => valid(sub, resolve, depth + 1)));
  }
  const type = Array.isArray(s.type) ? (s.type as string[]) : typeof s.type === 'string' ? [s.type] : [];
  if (type.length > 1) return fc.oneof(...type.map((t) => valid({ ...s, type: t }, resolve, depth)));
  switch (type[0]) {
    case 'string': {
      if (typeof s.pattern === 'string') return fc.stringMatching(new RegExp(s.pattern));
      const min = (s.minLength as number | undefined) ?? 0;
      return fc.string({ minLength: min, maxLength: Math.max(min, Math.min((s.maxLength as number | undefined) ?? 24, 64)) });
    }
    case 'integer':
    case 'number': {
      const min = (s.minimum as number | undefined) ?? -(2 ** 31);
      const max = (s.maximum as number | undefined) ?? 2 ** 31;
      // Most of the time small values near the lower bound (counts, sizes, offsets), sometimes the whole range.
      return fc.oneof(fc.integer({ min, max: Math.min(max, min + 16) }), fc.integer({ min, max }));
    }
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const items = (s.items as Schema | undefined) ?? {};
      return fc.array(valid(items, resolve, depth + 1), {
        minLength: (s.minItems as number | undefined) ?? 0,
        maxLength: Math.min((s.maxItems as number | undefined) ?? 8, 16),
      });
    }
    case 'object': {
      // if/then/else: the members either branch may add, all optional.
      const props: Record<string, Schema> = { ...(s.properties as Record<string, Schema> | undefined) };
      for (const branch of ['then', 'else'] as const) {
        const extra = (s[branch] as Schema | undefined)?.properties as Record<string, Schema | boolean> | undefined;
        for (const [k, v] of Object.entries(extra ?? {})) if (typeof v === 'object' && !(k in props)) props[k] = v;
      }
      const required = new Set((s.required as string[] | undefined) ?? []);
      const model: Record<string, fc.Arbitrary<Json>> = {};
      for (const [k, v] of Object.entries(props)) model[k] = valid(v, resolve, depth + 1);
      return fc.record(model, { requiredKeys: [...required].filter((k) => k in model) });
    }
    default:
      return anyJson;
  }
}

/** A value that breaks the schema in one place (or anywhere, for a tenth of them). */
export function invalid(schema: Schema, resolve: Resolver): fc.Arbitrary<Json> {
  const s = resolve(schema);
  const base = valid(s, resolve);
  const mutations: fc.Arbitrary<Json>[] = [anyJson];
  if (s.type === 'object' || s.properties !== undefined) {
    const keys = [...Object.keys((s.properties as object | undefined) ?? {})];
    mutations.push(
      // A member dropped, added, or set to arbitrary JSON.
      fc.tuple(base, fc.nat()).map(([v, k]) => {
        if (typeof v !== 'object' || v === null || keys.length === 0) return v;
        const copy = { ...(v as Record<string, Json>) };
        delete copy[keys[k % keys.length]!];
        return copy;
      }),
      fc.tuple(base, fc.string({ maxLength: 12 }), anyJson).map(([v, k, x]) => (typeof v === 'object' && v !== null ? { ...(v as object), [k]: x } : v)),
      ...(keys.length > 0 ? [fc.tuple(base, fc.constantFrom(...keys), anyJson).map(([v, k, x]) => (typeof v === 'object' && v !== null ? { ...(v as object), [k]: x } : v))] : []),
    );
  }
  if (s.type === 'integer' || s.type === 'number') {
    mutations.push(fc.constantFrom(-1, 1.5, 2 ** 53, -(2 ** 53), 1e308, '1', null, true));
  }
  if (s.type === 'string') mutations.push(fc.oneof(fc.string({ maxLength: 300 }), fc.integer(), fc.constant(null)));
  return fc.oneof(...mutations);
}
