// The OpenTelemetry SDK, wired only when the standard OTEL_* environment variables ask for traces: otherwise nothing
// here is loaded (the SDK and the exporter are imported dynamically) and every span in the program is the API's
// non-recording one. The daemon calls `initTracingFromEnv()` once at start, before it builds the app, and the
// returned function at exit (it flushes the spans still batched).
//
// Understood: OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER (otlp, console, none), OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
// (used as is), OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/traces), OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL, OTEL_SERVICE_NAME
// and OTEL_RESOURCE_ATTRIBUTES. The SDK itself reads OTEL_TRACES_SAMPLER[_ARG], OTEL_BSP_* and the exporter
// OTEL_EXPORTER_OTLP_[TRACES_]HEADERS, _TIMEOUT and the certificate variables.
import { context, propagation, trace } from '@opentelemetry/api';

export const DEFAULT_SERVICE_NAME = 'gunyahd';
const DEFAULT_OTLP_TRACES_ENDPOINT = 'http://localhost:4318/v1/traces';
/** The one OTLP encoding installed (@opentelemetry/exporter-trace-otlp-http). */
const OTLP_PROTOCOL = 'http/json';

export interface TracingConfig {
  /** Where spans go: nowhere (the SDK is not loaded), an OTLP/HTTP collector, or stdout. */
  readonly exporter: 'none' | 'otlp' | 'console';
  /** The OTLP traces URL (otlp only). */
  readonly endpoint: string | null;
  readonly serviceName: string;
  /** OTEL_RESOURCE_ATTRIBUTES, decoded. */
  readonly resourceAttributes: Readonly<Record<string, string>>;
  /** Settings that were asked for but cannot be honoured, for the daemon to log. */
  readonly warnings: readonly string[];
}

const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v.trim() === '' ? undefined : v.trim());

/** What the environment asks for, without loading anything. */
export function tracingConfigFromEnv(env: NodeJS.ProcessEnv = process.env): TracingConfig {
  const warnings: string[] = [];
  const tracesEndpoint = nonEmpty(env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']);
  const baseEndpoint = nonEmpty(env['OTEL_EXPORTER_OTLP_ENDPOINT']);
  const resourceAttributes = parseResourceAttributes(env['OTEL_RESOURCE_ATTRIBUTES'], warnings);
  const serviceName = nonEmpty(env['OTEL_SERVICE_NAME']) ?? resourceAttributes['service.name'] ?? DEFAULT_SERVICE_NAME;
  const common = { serviceName, resourceAttributes, warnings };
  const off: TracingConfig = { exporter: 'none', endpoint: null, ...common };
  if (nonEmpty(env['OTEL_SDK_DISABLED'])?.toLowerCase() === 'true') return off;

  // Unset OTEL_TRACES_EXPORTER: traces only when an OTLP endpoint is configured (tracing stays free by default).
  const asked = nonEmpty(env['OTEL_TRACES_EXPORTER'])?.toLowerCase().split(',').map((s) => s.trim()) ??
    (tracesEndpoint !== undefined || baseEndpoint !== undefined ? ['otlp'] : ['none']);
  for (const name of asked) {
    if (!['otlp', 'console', 'none'].includes(name)) warnings.push(`OTEL_TRACES_EXPORTER=${name} is not supported (otlp, console, none)`);
  }
  if (asked.includes('none') || (!asked.includes('otlp') && !asked.includes('console'))) return off;
  if (!asked.includes('otlp')) return { exporter: 'console', endpoint: null, ...common };

  const protocol = nonEmpty(env['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL']) ?? nonEmpty(env['OTEL_EXPORTER_OTLP_PROTOCOL']);
  if (protocol !== undefined && protocol !== OTLP_PROTOCOL) {
    warnings.push(`OTLP protocol ${protocol} is not available: spans are sent as ${OTLP_PROTOCOL}`);
  }
  if (asked.includes('console')) warnings.push('OTEL_TRACES_EXPORTER lists otlp and console: only otlp is used');
  const endpoint = tracesEndpoint ?? (baseEndpoint !== undefined ? `${baseEndpoint.replace(/\/+$/, '')}/v1/traces` : DEFAULT_OTLP_TRACES_ENDPOINT);
  return { exporter: 'otlp', endpoint, ...common };
}

/** OTEL_RESOURCE_ATTRIBUTES: `key=value` pairs separated by commas, values percent-encoded. */
function parseResourceAttributes(list: string | undefined, warnings: string[]): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const pair of list?.split(',') ?? []) {
    if (pair.trim() === '') continue;
    const eq = pair.indexOf('=');
    const key = eq > 0 ? pair.slice(0, eq).trim() : '';
    try {
      if (key === '') throw new Error();
      attributes[key] = decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      warnings.push(`OTEL_RESOURCE_ATTRIBUTES: ignored "${pair.trim()}" (expected key=percent-encoded value)`);
    }
  }
  return attributes;
}

/**
 * Register the SDK (context propagation across async calls, W3C trace context, a batching OTLP exporter or a
 * console one) when the environment asks for it. Returns the shutdown function: flush, then unregister, so that
 * the API is back to its no-op state.
 */
export async function initTracingFromEnv(
  opts: { env?: NodeJS.ProcessEnv; version?: string } = {},
): Promise<() => Promise<void>> {
  const config = tracingConfigFromEnv(opts.env);
  if (config.exporter === 'none') return async () => {};
  const sdk = await import('@opentelemetry/sdk-trace-node');
  const { defaultResource, resourceFromAttributes } = await import('@opentelemetry/resources');
  const processor = config.exporter === 'otlp'
    ? new sdk.BatchSpanProcessor(new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter({ url: config.endpoint! }))
    : new sdk.SimpleSpanProcessor(new sdk.ConsoleSpanExporter());
  const provider = new sdk.NodeTracerProvider({
    resource: defaultResource().merge(resourceFromAttributes({
      ...config.resourceAttributes,
      'service.name': config.serviceName,
      ...(opts.version !== undefined ? { 'service.version': opts.version } : {}),
    })),
    spanProcessors: [processor],
  });
  provider.register();
  return async () => {
    await provider.shutdown();
    trace.disable();
    context.disable();
    propagation.disable();
  };
}
