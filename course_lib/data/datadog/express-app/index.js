// The checkout app of Part 3's Datadog hands-on: Express serves GET /checkout and reports how long each checkout
// took to the Datadog Agent over DogStatsD (UDP), as the distribution custom.checkout.latency (milliseconds).
// A distribution, not a histogram: the Agent turns a histogram into custom.checkout.latency.avg, .count, .median,
// .max and .95percentile, so a monitor on avg:custom.checkout.latency would read nothing.
//
// Configuration comes from the environment, as in the Deployment the course renders:
//   DD_AGENT_HOST, DD_DOGSTATSD_PORT  where the Agent's DogStatsD listens (on a cluster: the node's IP, hostPort 8125)
//   DD_SERVICE, DD_ENV                 the service and env tags every metric carries
//   HOST, PORT                         where the app listens (the sandbox: 127.0.0.1; in a container: 0.0.0.0)
//   LATENCY_MS                         the typical checkout time; each request takes 0.5x to 1.5x of it
const express = require("express");
const StatsD = require("hot-shots");

const host = process.env.HOST || "127.0.0.1";
const port = Number(process.env.PORT || 8080);
const baseLatency = Number(process.env.LATENCY_MS || 100);

const statsd = new StatsD({
  host: process.env.DD_AGENT_HOST || "127.0.0.1",
  port: Number(process.env.DD_DOGSTATSD_PORT || 8125),
  globalTags: { service: process.env.DD_SERVICE || "checkout-api", env: process.env.DD_ENV || "course" },
  errorHandler: (err) => console.error(`dogstatsd: ${err.message}`),
});

const app = express();

app.get("/healthz", (_req, res) => res.send("ok"));

app.get("/checkout", (_req, res) => {
  const started = process.hrtime.bigint();
  const work = baseLatency * (0.5 + Math.random());
  setTimeout(() => {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    statsd.distribution("custom.checkout.latency", ms, { route: "/checkout" });
    statsd.increment("custom.checkout.requests", { status: "200" });
    res.json({ ok: true, latency_ms: Math.round(ms * 10) / 10 });
  }, work);
});

const server = app.listen(port, host, () => console.log(`checkout app on http://${host}:${port}`));

function shutdown() {
  server.close(() => statsd.close(() => process.exit(0)));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
