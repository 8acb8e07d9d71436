// Builders for Grafana's dashboard JSON model (schema 39): panels, value mappings, template variables and layout.
// Every panel queries through the `$datasource` variable and declares a unit.

import { series } from './promql.js';

export const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;

export interface Target {
  readonly expr: string;
  readonly legend?: string;
  /** An instant query shown as table rows instead of a time series. */
  readonly table?: boolean;
}

export interface PanelSpec {
  readonly title: string;
  readonly description: string;
  /** A Grafana unit id: `ops`, `reqps`, `Bps`, `s`, `bytes`, `percentunit`, `short`, `none`, ... */
  readonly unit: string;
  readonly targets: readonly Target[];
  /** Width in grid columns (of 24) and height in rows; 12 x 8 when left out. */
  readonly w?: number;
  readonly h?: number;
  readonly max?: number;
  readonly stacked?: boolean;
  readonly mappings?: readonly ValueMapping[];
  /** Colours for particular series, by display name (`RM_OK: 'green'`). */
  readonly colors?: Readonly<Record<string, string>>;
}

export interface ValueMapping {
  readonly type: 'value';
  readonly options: Record<string, { text: string; color?: string; index: number }>;
}

export interface GrafanaTarget {
  readonly refId: string;
  readonly expr: string;
  readonly [field: string]: unknown;
}

/** A Grafana panel as the JSON model has it, before layout gives it an id and a grid position. */
export interface Panel {
  readonly type: string;
  readonly title: string;
  readonly w: number;
  readonly h: number;
  readonly targets: readonly GrafanaTarget[];
  readonly [field: string]: unknown;
}

/** A panel placed on the grid; rows carry no targets. */
export type PlacedPanel = Omit<Panel, 'w' | 'h' | 'targets'> & { readonly id: number; readonly targets?: readonly GrafanaTarget[] };

/**
 * Value mappings for a numeric state gauge: each number shows as its state name, coloured when listed in `colors`.
 */
export function stateMappings(states: Readonly<Record<string, number>>, colors: Readonly<Record<string, string>>): ValueMapping[] {
  const options: ValueMapping['options'] = {};
  Object.entries(states).forEach(([name, n], index) => {
    options[String(n)] = { text: name, index, ...(colors[name] ? { color: colors[name] } : {}) };
  });
  return [{ type: 'value', options }];
}

const targets = (list: readonly Target[]): GrafanaTarget[] =>
  list.map((t, i) => ({
    datasource: DATASOURCE,
    refId: String.fromCharCode(65 + i),
    expr: t.expr,
    legendFormat: t.legend ?? '__auto',
    editorMode: 'code',
    range: !t.table,
    instant: t.table === true,
    ...(t.table ? { format: 'table' } : {}),
  }));

const overrides = (colors: Readonly<Record<string, string>> = {}) =>
  Object.entries(colors).map(([name, color]) => ({
    matcher: { id: 'byName', options: name },
    properties: [{ id: 'color', value: { mode: 'fixed', fixedColor: color } }],
  }));

function panel(type: string, spec: PanelSpec, custom: object, options: object): Panel {
  return {
    type,
    title: spec.title,
    description: spec.description,
    datasource: DATASOURCE,
    w: spec.w ?? 12,
    h: spec.h ?? 8,
    fieldConfig: {
      defaults: {
        unit: spec.unit,
        ...(spec.max === undefined ? {} : { max: spec.max }),
        ...(spec.mappings ? { mappings: spec.mappings } : {}),
        ...custom,
      },
      overrides: overrides(spec.colors),
    },
    options,
    targets: targets(spec.targets),
  };
}

const legend = { displayMode: 'list', placement: 'bottom', showLegend: true };

export const timeseries = (spec: PanelSpec): Panel =>
  panel(
    'timeseries',
    spec,
    {
      min: 0,
      color: { mode: 'palette-classic' },
      custom: {
        fillOpacity: spec.stacked ? 30 : 10,
        showPoints: 'never',
        stacking: { mode: spec.stacked ? 'normal' : 'none', group: 'A' },
      },
    },
    { legend, tooltip: { mode: 'multi', sort: 'desc' } },
  );

/** A single number; `showName` displays the series name (a label such as the version) instead of the value. */
export const stat = (spec: PanelSpec & { readonly showName?: boolean }): Panel =>
  panel(
    'stat',
    { w: 4, h: 4, ...spec },
    { color: { mode: 'fixed', fixedColor: 'blue' } },
    {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      colorMode: 'value',
      graphMode: spec.showName ? 'none' : 'area',
      textMode: spec.showName ? 'name' : 'auto',
      justifyMode: 'auto',
      orientation: 'auto',
    },
  );

/** A numeric state over time, shown through value mappings. */
export const stateTimeline = (spec: PanelSpec): Panel =>
  panel(
    'state-timeline',
    spec,
    { color: { mode: 'fixed', fixedColor: 'blue' } },
    { mergeValues: true, showValue: 'auto', alignValue: 'left', rowHeight: 0.9, legend, tooltip: { mode: 'single' } },
  );

/** Instant table rows, one column per label and the value in a column named `valueColumn`. */
export const table = (spec: PanelSpec & { readonly valueColumn: string }): Panel => ({
  ...panel('table', spec, {}, { showHeader: true, cellHeight: 'sm' }),
  transformations: [
    {
      id: 'organize',
      options: {
        excludeByName: { Time: true, __name__: true, job: true, instance: true },
        renameByName: { Value: spec.valueColumn },
      },
    },
  ],
});

export interface Row {
  readonly title: string;
  readonly panels: readonly Panel[];
}

/** The series whose label values feed the `$instance` and `$vm` variables (label_values(selector, label)). */
export const VARIABLES = {
  instance: { selector: series('gunyah_build_info'), label: 'instance' },
  vm: { selector: series('gunyah_vm_info', 'instance=~"$instance"'), label: 'vmid' },
} as const;

/** sort: 1 alphabetical (instances), 3 numerical (VMIDs). */
const queryVariable = (name: keyof typeof VARIABLES, title: string, multi: boolean, sort: 1 | 3) => {
  const { selector, label } = VARIABLES[name];
  const query = `label_values(${selector}, ${label})`;
  return {
    name,
    label: title,
    type: 'query',
    datasource: DATASOURCE,
    definition: query,
    query: { query, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
    refresh: 2, // on time range change: VMs come and go
    sort,
    multi,
    includeAll: multi,
    ...(multi ? { allValue: '.*', current: { text: ['All'], value: ['$__all'] } } : { current: {} }),
    hide: 0,
    options: [],
    regex: '',
  };
};

const templating = {
  list: [
    { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', current: {}, hide: 0, refresh: 1, regex: '', options: [] },
    queryVariable('instance', 'Instance', false, 1),
    queryVariable('vm', 'VM', true, 3),
  ],
};

const GRID_WIDTH = 24;

/** Lays the rows out top to bottom, each row's panels left to right, wrapping at the grid width. */
function layout(rows: readonly Row[]): PlacedPanel[] {
  const placed: Omit<PlacedPanel, 'id'>[] = [];
  let y = 0;
  for (const row of rows) {
    placed.push({ type: 'row', title: row.title, collapsed: false, panels: [], gridPos: { h: 1, w: GRID_WIDTH, x: 0, y } });
    y += 1;
    let x = 0;
    let lineHeight = 0;
    for (const { w, h, ...rest } of row.panels) {
      if (x + w > GRID_WIDTH) {
        y += lineHeight;
        x = 0;
        lineHeight = 0;
      }
      placed.push({ ...rest, gridPos: { h, w, x, y } });
      x += w;
      lineHeight = Math.max(lineHeight, h);
    }
    y += lineHeight;
  }
  return placed.map((p, i) => ({ id: i + 1, ...p }));
}

export interface DashboardSpec {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly rows: readonly Row[];
}

export interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly panels: readonly PlacedPanel[];
  readonly [field: string]: unknown;
}

export function dashboard(spec: DashboardSpec): Dashboard {
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: ['gunyah'],
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    time: { from: 'now-1h', to: 'now' },
    refresh: '10s',
    timezone: 'browser',
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: 'grafana', uid: '-- Grafana --' },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        },
      ],
    },
    links: [{ title: 'Gunyah', type: 'dashboards', tags: ['gunyah'], asDropdown: true, includeVars: true, keepTime: true }],
    templating,
    panels: layout(spec.rows),
  };
}
