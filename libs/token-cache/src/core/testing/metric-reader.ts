/** An OpenTelemetry SDK meter provider whose metrics a test collects on demand and reads as plain points. */
import { AggregationTemporality, DataPointType, MeterProvider, MetricReader, type MetricData } from '@opentelemetry/sdk-metrics';

class CollectingReader extends MetricReader {
  constructor(temporality: AggregationTemporality) {
    super({ aggregationTemporalitySelector: () => temporality });
  }
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

export interface MetricPoint {
  name: string;
  unit: string;
  attributes: Record<string, unknown>;
  /** Sum or gauge value; for a histogram, its count. */
  value: number;
  /** Histograms only. */
  sum?: number;
}

export interface TestMetrics {
  meterProvider: MeterProvider;
  /** Collects now and returns every data point, with the scope (meter) names seen. */
  collect(): Promise<{ points: MetricPoint[]; scopes: { name: string; version?: string }[] }>;
  /** The value of the point with this name and exactly these attributes, or undefined. */
  value(points: MetricPoint[], name: string, attributes?: Record<string, unknown>): number | undefined;
  shutdown(): Promise<void>;
}

/** Cumulative by default; with delta, a collection shows only what was observed or recorded since the last. */
export function testMetrics(temporality: 'cumulative' | 'delta' = 'cumulative'): TestMetrics {
  const reader = new CollectingReader(temporality === 'delta' ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE);
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    meterProvider,
    async collect() {
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length) throw errors[0];
      const points: MetricPoint[] = [];
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const metric of scope.metrics as MetricData[]) {
          for (const dp of metric.dataPoints) {
            const base = { name: metric.descriptor.name, unit: metric.descriptor.unit, attributes: { ...dp.attributes } };
            if (metric.dataPointType === DataPointType.HISTOGRAM) {
              const h = dp.value as { count: number; sum?: number };
              points.push({ ...base, value: h.count, sum: h.sum });
            } else {
              points.push({ ...base, value: dp.value as number });
            }
          }
        }
      }
      return { points, scopes: resourceMetrics.scopeMetrics.map((s) => ({ name: s.scope.name, version: s.scope.version })) };
    },
    value(points, name, attributes = {}) {
      const wanted = JSON.stringify(Object.entries(attributes).sort());
      return points.find((p) => p.name === name && JSON.stringify(Object.entries(p.attributes).sort()) === wanted)?.value;
    },
    shutdown: () => meterProvider.shutdown(),
  };
}
