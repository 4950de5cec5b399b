// The page tests/browser_frontend.rs serves to headless chromium, bundled by esbuild.
//
// It sends one span to weir with the OpenTelemetry web SDK (OTLP/HTTP JSON, a cross-origin
// fetch with a preflight), then throws an uncaught error whose handler posts it to weir's
// frontend log intake the way most web apps would: a bare fetch with a JSON string body
// (text/plain, no preflight). Then it tells the test's server what it saw, at POST /report:
// { spans: { code, error? }, log: { status, requestId, body } | { failed } }.
import { SimpleSpanProcessor, WebTracerProvider } from '@opentelemetry/sdk-trace-web';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';

const weir = window.WEIR.endpoint;
const report = {};

function send() {
  fetch('/report', { method: 'POST', body: JSON.stringify(report) });
}

const exporter = new OTLPTraceExporter({
  url: `${weir}/v1/traces`,
  headers: { 'X-Scope-OrgID': 'web' },
});
const exportSpans = exporter.export.bind(exporter);
exporter.export = (spans, done) =>
  exportSpans(spans, (result) => {
    report.spans = { code: result.code, error: result.error && String(result.error) };
    done(result);
  });

const provider = new WebTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'shop-web', 'service.version': '1.4.2' }),
  spanProcessors: [new SimpleSpanProcessor(exporter)],
});
const tracer = provider.getTracer('shop');

window.addEventListener('error', (event) => {
  const error = event.error;
  fetch(`${weir}/api/frontend-log`, {
    method: 'POST',
    body: JSON.stringify({
      level: 'error',
      message: event.message,
      error: error && error.name,
      stack: error && error.stack,
      context: { url: window.location.href, ua: navigator.userAgent, build: '1.4.2' },
    }),
  })
    .then(async (r) => {
      report.log = { status: r.status, requestId: r.headers.get('x-request-id'), body: await r.json() };
    })
    .catch((e) => {
      report.log = { failed: String(e) };
    })
    .finally(send);
});

async function checkout() {
  const span = tracer.startSpan('checkout', {
    attributes: { 'http.route': '/checkout', 'user.email': 'jane.doe@example.com' },
  });
  span.end();
  await provider.forceFlush();
  if (!report.spans) {
    report.spans = { code: -1, error: 'the exporter never answered' };
  }
  setTimeout(() => {
    throw new Error('checkout failed for jane.doe@example.com with token=abc123secret');
  }, 0);
}

checkout();
