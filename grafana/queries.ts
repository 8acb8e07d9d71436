// Every PromQL expression the dashboards and alert rules evaluate, for tests that run them against a real
// Prometheus. Dashboard expressions keep Grafana's variables until `substitute` replaces them.
//
// Alert rules are listed by their value (the rule's expression without its threshold, see alerts.ts): a healthy
// daemon returns data for the value, while the full rule expression is empty until the alert fires.

import { ALERT_RULES } from './alerts.js';
import { DASHBOARDS } from './boards/index.js';
import { VARIABLES } from './panels.js';
import { RATE_INTERVAL } from './promql.js';

export interface QueryVariables {
  /** Regex for `$instance`, e.g. `127\\.0\\.0\\.1:8080` or `.+`. */
  readonly instance: string;
  /** Regex for `$vm` (VMIDs in decimal), e.g. `.*` or `128|129`. */
  readonly vm: string;
  /** Range for `$__rate_interval`, e.g. `1m`. */
  readonly rateInterval: string;
}

/** Values for a test against one daemon scraped every second: every instance, every VM, a one-minute window. */
export const E2E_VARIABLES: QueryVariables = { instance: '.+', vm: '.*', rateInterval: '1m' };

export interface ListedQuery {
  /** `panel`: a dashboard panel's target; `variable`: the series feeding a template variable; `alert`: a rule's value. */
  readonly source: 'panel' | 'variable' | 'alert';
  /** `<dashboard uid> / <panel title> / <refId>`, `<variable name>` or `<alert name>`. */
  readonly where: string;
  readonly expr: string;
}

export function substitute(expr: string, vars: QueryVariables): string {
  return expr
    .replaceAll(RATE_INTERVAL, vars.rateInterval)
    .replaceAll('$instance', vars.instance)
    .replaceAll('$vm', vars.vm);
}

/** Every expression; with `vars`, Grafana's variables are replaced by their values. */
export function listQueries(vars?: QueryVariables): ListedQuery[] {
  const listed: ListedQuery[] = [
    ...DASHBOARDS.flatMap((d) =>
      d.panels.flatMap((p) =>
        (p.targets ?? []).map((t) => ({ source: 'panel' as const, where: `${d.uid} / ${p.title} / ${t.refId}`, expr: t.expr })),
      ),
    ),
    ...Object.entries(VARIABLES).map(([name, v]) => ({ source: 'variable' as const, where: name, expr: v.selector })),
    ...ALERT_RULES.map((r) => ({ source: 'alert' as const, where: r.alert, expr: r.value })),
  ];
  return vars ? listed.map((q) => ({ ...q, expr: substitute(q.expr, vars) })) : listed;
}
