// Request validation: bodies are checked strictly (a string is never coerced into a number, unknown members are
// refused, not dropped); path parameters, query strings and headers arrive as text and are coerced to the schema's
// types. Every violation is reported, each with a JSON pointer to its field.
import AjvCompiler from '@fastify/ajv-compiler';
import type { FastifySchemaValidationError, SchemaErrorDataVar } from 'fastify/types/schema.js';
import type { FieldError } from './problem.js';

interface RouteDefinition {
  httpPart: string;
}
type ValidatorBuilder = (route: RouteDefinition) => unknown;
type BuildFromPool = (external: unknown, options: object) => ValidatorBuilder;

const common = { removeAdditional: false, allErrors: true, useDefaults: true };

function buildValidator(externalSchemas: unknown) {
  const body = (AjvCompiler() as unknown as BuildFromPool)(externalSchemas, { customOptions: { ...common, coerceTypes: false } });
  const text = (AjvCompiler() as unknown as BuildFromPool)(externalSchemas, { customOptions: { ...common, coerceTypes: 'array' } });
  return (route: RouteDefinition) => (route.httpPart === 'body' ? body(route) : text(route));
}

/**
 * Fastify's schemaController option: two Ajv instances, one per coercion policy. (@fastify/ajv-compiler's types
 * describe the builder's result as a bare compile function; Fastify calls it with the route definition.)
 */
export const schemaController = { compilersFactory: { buildValidator: buildValidator as never } };

/** Ajv errors as field errors. `if` failures only repeat the `then`/`else` errors that follow them. */
export function fieldErrors(errors: readonly FastifySchemaValidationError[], part: SchemaErrorDataVar): FieldError[] {
  return errors
    .filter((e) => e.keyword !== 'if')
    .map((e) => {
      const member = (e.params as { missingProperty?: string; additionalProperty?: string });
      const name = member.missingProperty ?? member.additionalProperty;
      const field = `/${part}${e.instancePath}${name === undefined ? '' : `/${name}`}`;
      const message = e.keyword === 'false schema' ? 'is not allowed here'
        : name === undefined ? (e.message ?? 'is invalid')
          : e.keyword === 'required' ? 'is required' : 'is not a known member';
      return { field, message };
    });
}
