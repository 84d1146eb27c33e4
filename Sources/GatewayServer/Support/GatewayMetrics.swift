import CoreMetrics
import GatewayCore
import Metrics
import Prometheus

/// Every metric the gateway exports on GET /metrics, created once. Hot paths count in batches
/// (one increment per event per event loop, not per delivery).
public final class GatewayMetrics: Sendable {
    /// swift-metrics allows one bootstrap per process; every server in the process shares it.
    public static let shared = GatewayMetrics()

    /// Installs the Prometheus backend. Call before anything creates a metric — the plugin host
    /// makes its per-plugin counters when it loads plugins, and a counter made before the
    /// bootstrap counts into nothing.
    public static func bootstrap() { _ = shared }

    public let registry: PrometheusCollectorRegistry
    let connections: Meter
    /// Events in (by ingress), routed, refused: counted by the pipeline.
    let pipeline: PipelineCounters
    private let engineState: CoreMetrics.Gauge
    let deliveries: CoreMetrics.Counter
    let deliveryLatency: Metrics.Timer
    let slowConsumers: CoreMetrics.Counter
    let upgradesRefused: CoreMetrics.Counter
    /// Connections closed at accept by `max_connections` / `max_connections_per_ip`.
    let connectionsRefused: CoreMetrics.Counter
    /// Connections that had not sent a request head, closed to make room for a new one.
    let connectionsEvicted: CoreMetrics.Counter
    /// Accepts that failed for lack of file descriptors (EMFILE/ENFILE) or memory: each pauses accepting.
    let acceptsOutOfFiles: CoreMetrics.Counter
    /// WebSocket clients closed because they did not answer a keep-alive ping in time.
    let pingTimeouts: CoreMetrics.Counter

    private init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
        ]
        MetricsSystem.bootstrap(factory)
        connections = Meter(label: "gateway_connections")
        deliveries = CoreMetrics.Counter(label: "gateway_deliveries_total")
        deliveryLatency = Metrics.Timer(label: "gateway_delivery_latency_seconds")
        slowConsumers = CoreMetrics.Counter(label: "gateway_slow_consumer_disconnects_total")
        upgradesRefused = CoreMetrics.Counter(label: "gateway_upgrades_refused_total")
        connectionsRefused = CoreMetrics.Counter(label: "gateway_connections_refused_total")
        connectionsEvicted = CoreMetrics.Counter(label: "gateway_connections_evicted_total")
        acceptsOutOfFiles = CoreMetrics.Counter(label: "gateway_accepts_out_of_files_total")
        pingTimeouts = CoreMetrics.Counter(label: "gateway_ping_timeouts_total")
        let dropCounters = Dictionary(uniqueKeysWithValues: DropReason.allCases.map {
            ($0.rawValue, CoreMetrics.Counter(label: "gateway_drops_total", dimensions: [("reason", $0.rawValue)]))
        })
        self.dropCounters = dropCounters
        pipeline = PipelineCounters(
            eventsIn: Dictionary(uniqueKeysWithValues: Ingress.allCases.map {
                ($0, CoreMetrics.Counter(label: "gateway_events_in_total", dimensions: [("ingress", $0.rawValue)]))
            }),
            routed: CoreMetrics.Counter(label: "gateway_events_routed_total"),
            invalid: dropCounters[DropReason.invalidEvent.rawValue]!,
            noTargets: dropCounters[DropReason.noTargets.rawValue]!)
        engineState = CoreMetrics.Gauge(label: "gateway_engine_up")
    }

    /// 1 while the engine's store is reachable, 0 while it is degraded (set when /metrics is read).
    func engineUp(_ up: Bool) { engineState.record(up ? 1 : 0) }

    // Created in init, after the bootstrap: a Counter made earlier would count into nothing.
    private let dropCounters: [String: CoreMetrics.Counter]

    enum DropReason: String, CaseIterable {
        case invalidEvent = "invalid_event"
        case noTargets = "no_targets"
        case filtered
        case slowConsumer = "slow_consumer"
        case historyQueueFull = "history_queue_full"
    }

    func drop(_ reason: DropReason, count: Int = 1) {
        dropCounters[reason.rawValue]?.increment(by: count)
    }
}
