/** Prometheus' text exposition format (version 0.0.4), shared by nsqd's and nsqlookupd's `/metrics`. */

/** Content type of the Prometheus text format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Label names → values. */
export type Labels = Record<string, string>;

/** Collects samples; each family's HELP and TYPE lines come before its first sample. */
export class Exposition {
  #out: string[] = [];
  #declared = new Set<string>();

  /** Adds one sample of a gauge or counter family. */
  metric(name: string, type: "gauge" | "counter", help: string, labels: Labels, value: number): void {
    if (!this.#declared.has(name)) {
      this.#declared.add(name);
      this.#out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    }
    this.#out.push(`${name}${formatLabels(labels)} ${formatValue(value)}`);
  }

  /** Adds one sample of a gauge family. */
  gauge(name: string, help: string, labels: Labels, value: number): void {
    this.metric(name, "gauge", help, labels, value);
  }

  /** The exposition text. */
  text(): string {
    return this.#out.join("\n") + "\n";
  }
}

function formatLabels(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return "";
  return `{${keys.map((k) => `${k}="${escapeLabel(labels[k])}"`).join(",")}}`;
}

function escapeLabel(v: string): string {
  return v.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}
