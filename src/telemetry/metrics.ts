// OpenTelemetry metrics, exported for Prometheus on our own HTTP server (with /healthz and /readyz), and
// traces only when OTEL_TRACES_EXPORTER asks for them (the SDK's empty default would mean "otlp to localhost").
// Without traces only the metrics SDK is loaded: @opentelemetry/sdk-node brings every OTLP, gRPC and protobuf
// exporter with it, +10 MiB of resident memory in an operator that exports none of them.
import { metrics, type Counter, type Histogram } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface Telemetry {
  metricsHandler(req: IncomingMessage, res: ServerResponse): void;
  shutdown(): Promise<void>;
}

export async function startTelemetry(serviceName: string): Promise<Telemetry> {
  const exporter = new PrometheusExporter({ preventServerStart: true, withoutTargetInfo: true });
  const metricsHandler = (req: IncomingMessage, res: ServerResponse) => exporter.getMetricsRequestHandler(req, res);
  if ((process.env['OTEL_TRACES_EXPORTER'] ?? 'none') === 'none') {
    const provider = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': serviceName }), readers: [exporter] });
    metrics.setGlobalMeterProvider(provider);
    return { metricsHandler, shutdown: () => provider.shutdown() };
  }
  // A CommonJS package: its exports are the namespace's default, in Node and in the operator's bundle alike (the
  // bundle gives a CommonJS module loaded by import() no named exports).
  const { NodeSDK } = (await import('@opentelemetry/sdk-node')).default;
  const sdk = new NodeSDK({ serviceName, metricReaders: [exporter], logRecordProcessors: [], instrumentations: [] });
  sdk.start();
  return { metricsHandler, shutdown: () => sdk.shutdown() };
}

/** controller-runtime's metric names, so existing dashboards work. */
export interface ControllerMetrics {
  reconcileTotal: Counter;
  reconcileErrors: Counter;
  reconcileTime: Histogram;
  queueAdds: Counter;
  queueRetries: Counter;
  watchRestarts: Counter;
  apiWrites: Counter;
}

export function controllerMetrics(queueDepth: () => number): ControllerMetrics {
  const meter = metrics.getMeter('portable-lb-operator');
  meter
    .createObservableGauge('workqueue_depth', { description: 'Keys waiting in the work queue' })
    .addCallback((r) => r.observe(queueDepth(), { name: 'portableloadbalancer' }));
  return {
      reconcileTotal: meter.createCounter('controller_runtime_reconcile_total', { description: 'Reconciles by result' }),
      reconcileErrors: meter.createCounter('controller_runtime_reconcile_errors_total', { description: 'Reconciles that failed' }),
      reconcileTime: meter.createHistogram('controller_runtime_reconcile_time_seconds', {
        description: 'Time per reconcile',
        unit: 's',
        advice: { explicitBucketBoundaries: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] },
      }),
      queueAdds: meter.createCounter('workqueue_adds_total', { description: 'Keys added to the work queue' }),
      queueRetries: meter.createCounter('workqueue_retries_total', { description: 'Keys re-queued after an error' }),
      watchRestarts: meter.createCounter('portablelb_watch_restarts_total', { description: 'Informer restarts after watch errors' }),
      apiWrites: meter.createCounter('portablelb_api_writes_total', { description: 'API writes by kind' }),
  };
}
