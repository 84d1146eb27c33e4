import CoreMetrics

/// Runs work where it may block (SQLite, plugins that may be slow), never on an event loop.
/// The server passes its NIOThreadPool; tests may run the work inline.
public protocol BlockingExecutor: Sendable {
    func execute(_ work: @escaping @Sendable () -> Void)
}

/// Runs the work on the calling thread: for tests and tools that are not on an event loop.
public struct InlineExecutor: BlockingExecutor {
    public init() {}
    public func execute(_ work: @escaping @Sendable () -> Void) { work() }
}

/// The pipeline's counters on /metrics (created by the server's metrics, after the bootstrap).
public struct PipelineCounters: Sendable {
    let eventsIn: [Ingress: Counter]
    let routed: Counter
    let invalid: Counter
    let noTargets: Counter

    public init(eventsIn: [Ingress: Counter], routed: Counter, invalid: Counter, noTargets: Counter) {
        self.eventsIn = eventsIn
        self.routed = routed
        self.invalid = invalid
        self.noTargets = noTargets
    }

    /// Counters under the given label prefix (unit tests: a fresh prefix per test).
    public static func labelled(_ prefix: String) -> PipelineCounters {
        PipelineCounters(
            eventsIn: Dictionary(uniqueKeysWithValues: Ingress.allCases.map { ($0, Counter(label: "\(prefix)_in_\($0.rawValue)")) }),
            routed: Counter(label: "\(prefix)_routed"), invalid: Counter(label: "\(prefix)_invalid"),
            noTargets: Counter(label: "\(prefix)_no_targets"))
    }
}
