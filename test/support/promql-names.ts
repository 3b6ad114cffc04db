// Test support: reads a PromQL expression far enough to name every metric it selects, every label it matches or groups by, and every function it calls, and checks them against a metric catalogue.
//
// It is a checker for the expressions of dashboards, not an evaluator: operator precedence is not
// needed and not kept. Grafana variables (`$namespace`, `${datasource}`, `$__rate_interval`) may stand
// where Grafana substitutes them: inside strings, inside `[...]`, or as a scalar.

/** Metric name → the label names its series carry. */
export type MetricCatalogue = ReadonlyMap<string, ReadonlySet<string>>;

const AGGREGATIONS = new Set(['sum', 'avg', 'min', 'max', 'count', 'group', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'limitk', 'limit_ratio']);
const FUNCTIONS = new Set([
  'abs', 'absent', 'absent_over_time', 'acos', 'acosh', 'asin', 'asinh', 'atan', 'atanh', 'avg_over_time', 'ceil', 'changes', 'clamp', 'clamp_max',
  'clamp_min', 'cos', 'cosh', 'count_over_time', 'day_of_month', 'day_of_week', 'day_of_year', 'days_in_month', 'deg', 'delta', 'deriv', 'exp',
  'floor', 'histogram_count', 'histogram_fraction', 'histogram_quantile', 'histogram_stddev', 'histogram_stdvar', 'histogram_sum', 'holt_winters',
  'hour', 'idelta', 'increase', 'irate', 'label_join', 'label_replace', 'last_over_time', 'ln', 'log10', 'log2', 'mad_over_time', 'max_over_time',
  'min_over_time', 'minute', 'month', 'pi', 'predict_linear', 'present_over_time', 'quantile_over_time', 'rad', 'rate', 'resets', 'round', 'scalar',
  'sgn', 'sin', 'sinh', 'sort', 'sort_desc', 'sqrt', 'stddev_over_time', 'stdvar_over_time', 'sum_over_time', 'tan', 'tanh', 'time', 'timestamp',
  'vector', 'year',
]);
const SET_OPERATORS = new Set(['and', 'or', 'unless']);
const BINARY = new Set(['+', '-', '*', '/', '%', '^', '==', '!=', '>', '<', '>=', '<=']);
const MATCH_OPS = new Set(['=', '!=', '=~', '!~']);

type TokenKind = 'ident' | 'number' | 'string' | 'var' | 'range' | 'op';
interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly at: number;
}

export class PromqlSyntaxError extends Error {}

function tokenize(expr: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < expr.length && expr[i] !== '\n') i++;
      continue;
    }
    const rest = expr.slice(i);
    let m: RegExpExecArray | null;
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      let value = '';
      while (j < expr.length && expr[j] !== c) {
        if (expr[j] === '\\' && c !== '`') j++;
        value += expr[j++];
      }
      if (j >= expr.length) throw new PromqlSyntaxError(`unterminated string at ${i}`);
      out.push({ kind: 'string', text: value, at: i });
      i = j + 1;
    } else if (c === '[') {
      const j = expr.indexOf(']', i);
      if (j < 0) throw new PromqlSyntaxError(`unterminated [ at ${i}`);
      out.push({ kind: 'range', text: expr.slice(i + 1, j).trim(), at: i });
      i = j + 1;
    } else if ((m = /^\$(?:\{[^}]+\}|[A-Za-z_][A-Za-z0-9_]*)/.exec(rest))) {
      out.push({ kind: 'var', text: m[0], at: i });
      i += m[0].length;
    } else if ((m = /^(?:[0-9]+(?:ms|[smhdwy]))+(?![A-Za-z0-9_])/.exec(rest))) {
      out.push({ kind: 'number', text: m[0], at: i }); // a duration (offset 5m)
      i += m[0].length;
    } else if ((m = /^(?:0x[0-9a-fA-F]+|[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)/.exec(rest))) {
      out.push({ kind: 'number', text: m[0], at: i });
      i += m[0].length;
    } else if ((m = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(rest))) {
      out.push({ kind: 'ident', text: m[0], at: i });
      i += m[0].length;
    } else if ((m = /^(?:==|!=|>=|<=|=~|!~|[-+*/%^=<>(){},@])/.exec(rest))) {
      out.push({ kind: 'op', text: m[0], at: i });
      i += m[0].length;
    } else {
      throw new PromqlSyntaxError(`unexpected ${JSON.stringify(c)} at ${i}`);
    }
  }
  return out;
}

/** A vector selector: its metric and the labels its matchers name. */
interface Selector {
  readonly metric: string | null;
  readonly labels: readonly string[];
}

/** What one expression reads: its selectors, its functions, and label lists (by/without/on/ignoring) with the selectors they apply to. */
interface Reads {
  readonly selectors: Selector[];
  readonly functions: string[];
  readonly groupings: { clause: string; labels: string[]; over: Selector[] }[];
}

class Parser {
  private i = 0;
  constructor(private readonly t: readonly Token[]) {}

  private peek(offset = 0): Token | undefined {
    return this.t[this.i + offset];
  }
  private next(): Token {
    const tok = this.t[this.i++];
    if (!tok) throw new PromqlSyntaxError('unexpected end of expression');
    return tok;
  }
  private expectOp(text: string): void {
    const tok = this.next();
    if (tok.kind !== 'op' || tok.text !== text) throw new PromqlSyntaxError(`expected ${JSON.stringify(text)} at ${tok.at}, got ${JSON.stringify(tok.text)}`);
  }
  private isOp(text: string, offset = 0): boolean {
    const tok = this.peek(offset);
    return tok !== undefined && tok.kind === 'op' && tok.text === text;
  }
  private isIdent(text: string, offset = 0): boolean {
    const tok = this.peek(offset);
    return tok !== undefined && tok.kind === 'ident' && tok.text === text;
  }

  parseAll(): Reads {
    const r = this.expr();
    const tok = this.peek();
    if (tok) throw new PromqlSyntaxError(`unexpected ${JSON.stringify(tok.text)} at ${tok.at}`);
    return r;
  }

  private labelList(): string[] {
    this.expectOp('(');
    const labels: string[] = [];
    while (!this.isOp(')')) {
      const tok = this.next();
      if (tok.kind !== 'ident') throw new PromqlSyntaxError(`expected a label name at ${tok.at}, got ${JSON.stringify(tok.text)}`);
      labels.push(tok.text);
      if (!this.isOp(')')) this.expectOp(',');
    }
    this.expectOp(')');
    return labels;
  }

  private expr(): Reads {
    const r = this.unary();
    for (;;) {
      const tok = this.peek();
      if (!tok) return r;
      const binary = (tok.kind === 'op' && BINARY.has(tok.text)) || (tok.kind === 'ident' && SET_OPERATORS.has(tok.text));
      if (!binary) return r;
      this.i++;
      if (this.isIdent('bool')) this.i++;
      const matching: { clause: string; labels: string[] }[] = [];
      for (const clause of ['on', 'ignoring', 'group_left', 'group_right']) {
        if (this.isIdent(clause)) {
          this.i++;
          matching.push({ clause, labels: clause.startsWith('group_') && !this.isOp('(') ? [] : this.labelList() });
        }
      }
      const right = this.unary();
      const over = [...r.selectors, ...right.selectors];
      r.selectors.push(...right.selectors);
      r.functions.push(...right.functions);
      r.groupings.push(...right.groupings, ...matching.map((m) => ({ ...m, over })));
    }
  }

  private unary(): Reads {
    while (this.isOp('-') || this.isOp('+')) this.i++;
    const r = this.primary();
    // Postfix: a range or subquery, offset, @.
    for (;;) {
      const tok = this.peek();
      if (tok?.kind === 'range') this.i++;
      else if (this.isIdent('offset')) {
        this.i++;
        if (this.isOp('-')) this.i++;
        const d = this.next();
        if (d.kind !== 'ident' && d.kind !== 'number' && d.kind !== 'var') throw new PromqlSyntaxError(`expected a duration after offset at ${d.at}`);
      } else if (this.isOp('@')) {
        this.i++;
        this.next(); // a timestamp, or start() / end()
        if (this.isOp('(')) {
          this.expectOp('(');
          this.expectOp(')');
        }
      } else return r;
    }
  }

  private args(): Reads {
    const r: Reads = { selectors: [], functions: [], groupings: [] };
    this.expectOp('(');
    while (!this.isOp(')')) {
      const a = this.expr();
      r.selectors.push(...a.selectors);
      r.functions.push(...a.functions);
      r.groupings.push(...a.groupings);
      if (!this.isOp(')')) this.expectOp(',');
    }
    this.expectOp(')');
    return r;
  }

  private matchers(): { metric: string | null; labels: string[] } {
    this.expectOp('{');
    let metric: string | null = null;
    const labels: string[] = [];
    while (!this.isOp('}')) {
      const name = this.next();
      if (name.kind !== 'ident' && name.kind !== 'string') throw new PromqlSyntaxError(`expected a label name at ${name.at}, got ${JSON.stringify(name.text)}`);
      const op = this.next();
      if (op.kind !== 'op' || !MATCH_OPS.has(op.text)) throw new PromqlSyntaxError(`expected =, !=, =~ or !~ after ${name.text} at ${op.at}`);
      const value = this.next();
      if (value.kind !== 'string') throw new PromqlSyntaxError(`expected a quoted value for ${name.text} at ${value.at}`);
      if (name.text === '__name__' && op.text === '=') metric = value.text;
      else labels.push(name.text);
      if (!this.isOp('}')) this.expectOp(',');
    }
    this.expectOp('}');
    return { metric, labels };
  }

  private primary(): Reads {
    const tok = this.next();
    if (tok.kind === 'number' || tok.kind === 'string' || tok.kind === 'var') return { selectors: [], functions: [], groupings: [] };
    if (tok.kind === 'op' && tok.text === '(') {
      const r = this.expr();
      this.expectOp(')');
      return r;
    }
    if (tok.kind === 'op' && tok.text === '{') {
      this.i--;
      const m = this.matchers();
      return { selectors: [m], functions: [], groupings: [] };
    }
    if (tok.kind !== 'ident') throw new PromqlSyntaxError(`unexpected ${JSON.stringify(tok.text)} at ${tok.at}`);
    if (['Inf', 'NaN', 'inf', 'nan'].includes(tok.text)) return { selectors: [], functions: [], groupings: [] };
    if (AGGREGATIONS.has(tok.text) && (this.isOp('(') || this.isIdent('by') || this.isIdent('without'))) {
      const groupings: { clause: string; labels: string[] }[] = [];
      const clause = (): void => {
        if (this.isIdent('by') || this.isIdent('without')) {
          const c = this.next().text;
          groupings.push({ clause: c, labels: this.labelList() });
        }
      };
      clause();
      const inner = this.args();
      clause();
      inner.groupings.push(...groupings.map((g) => ({ ...g, over: [...inner.selectors] })));
      return inner;
    }
    if (this.isOp('(')) {
      const inner = this.args();
      inner.functions.push(tok.text);
      return inner;
    }
    const m = this.isOp('{') ? this.matchers() : { metric: null, labels: [] };
    if (m.metric !== null) throw new PromqlSyntaxError(`${tok.text}{__name__=...}: two metric names`);
    return { selectors: [{ metric: tok.text, labels: m.labels }], functions: [], groupings: [] };
  }
}

/**
 * Every name in `expr` that the catalogue does not have: unknown metrics, label matchers on labels the
 * metric lacks, by/without/on/ignoring labels that some selected metric lacks, unknown functions.
 * An expression that cannot be read is one problem naming where.
 */
export function unknownNames(expr: string, catalogue: MetricCatalogue): string[] {
  let reads: Reads;
  try {
    reads = new Parser(tokenize(expr)).parseAll();
  } catch (err) {
    if (err instanceof PromqlSyntaxError) return [`cannot read the expression: ${err.message}`];
    throw err;
  }
  const problems: string[] = [];
  const add = (p: string): void => {
    if (!problems.includes(p)) problems.push(p);
  };
  for (const f of reads.functions) if (!FUNCTIONS.has(f)) add(`unknown function ${f}()`);
  for (const s of reads.selectors) {
    if (s.metric === null) {
      add('a selector without a metric name');
      continue;
    }
    const labels = catalogue.get(s.metric);
    if (!labels) {
      add(`unknown metric ${s.metric}`);
      continue;
    }
    for (const l of s.labels) if (!labels.has(l)) add(`unknown label ${l} on ${s.metric}`);
  }
  for (const g of reads.groupings) {
    for (const l of g.labels) {
      for (const s of g.over) {
        const labels = s.metric === null ? undefined : catalogue.get(s.metric);
        if (labels && !labels.has(l)) add(`${g.clause} (${l}): unknown label ${l} on ${s.metric}`);
      }
    }
  }
  return problems;
}

/** Grafana's `label_values(selector, label)` (a query variable): the selector's names and the label itself. */
export function unknownNamesInLabelValues(query: string, catalogue: MetricCatalogue): string[] {
  const m = /^\s*label_values\(\s*(.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$/s.exec(query);
  if (!m) return [`not label_values(selector, label): ${JSON.stringify(query)}`];
  const problems = unknownNames(m[1], catalogue);
  const metric = /^\s*([A-Za-z_:][A-Za-z0-9_:]*)/.exec(m[1])?.[1];
  const labels = metric ? catalogue.get(metric) : undefined;
  if (labels && !labels.has(m[2])) problems.push(`unknown label ${m[2]} on ${metric}`);
  return problems;
}
