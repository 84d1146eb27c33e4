import GatewayJSON

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An event ready to leave: encoded once, shared read-only by every event loop that delivers it.
/// Built by the engine from a routed `Event` (or from a signal: typing, read marks).
public final class OutboundEvent: Sendable {
    public let event: Event
    /// The JSON document as bytes, written unchanged to every recipient no filter changes.
    public let payload: [UInt8]
    /// The chain snapshot this event is filtered with; keeps its plugin instances alive until
    /// every loop has delivered the event, even if a reload swaps the chain meanwhile.
    public let chain: PluginChain
    /// The recipient filters that must see this event one recipient at a time (often none).
    public let filterPlan: PluginChain.FilterPlan
    /// When the pipeline accepted it (MonotonicClock), for the delivery-latency histogram.
    public let acceptedAtNanoseconds: UInt64

    public init(_ event: Event, payload: [UInt8]? = nil, chain: PluginChain,
                acceptedAtNanoseconds: UInt64 = MonotonicClock.nanoseconds()) {
        self.event = event
        self.payload = payload ?? event.json.encoded()
        self.chain = chain
        self.filterPlan = chain.filterPlan(for: event.json.view)
        self.acceptedAtNanoseconds = acceptedAtNanoseconds
    }
}

/// CLOCK_MONOTONIC in nanoseconds: the same clock on every thread, for latency measurements.
public enum MonotonicClock {
    public static func nanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}
