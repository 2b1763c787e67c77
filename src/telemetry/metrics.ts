// OpenTelemetry metrics, exported for Prometheus on our own HTTP server (with /healthz and /readyz), and
// traces only when OTEL_TRACES_EXPORTER asks for them (the SDK's empty default would mean "otlp to localhost").
import { metrics, type Counter, type Histogram } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { NodeSDK } from '@opentelemetry/sdk-node';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface Telemetry {
  metricsHandler(req: IncomingMessage, res: ServerResponse): void;
  shutdown(): Promise<void>;
}

export function startTelemetry(serviceName: string): Telemetry {
  const exporter = new PrometheusExporter({ preventServerStart: true, withoutTargetInfo: true });
  const tracesOn = (process.env['OTEL_TRACES_EXPORTER'] ?? 'none') !== 'none';
  const sdk = new NodeSDK({
    serviceName,
    metricReaders: [exporter],
    ...(tracesOn ? {} : { spanProcessors: [] }),
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  return {
    metricsHandler: (req, res) => exporter.getMetricsRequestHandler(req, res),
    shutdown: () => sdk.shutdown(),
  };
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
