import CoreMetrics
import NIOConcurrencyHelpers

/// /metrics for offline delivery, per messenger alias:
///   gateway_messenger_deliveries_total{messenger, outcome="sent"|"retried"|"refused"|"dead_letter"|"skipped"}
///   gateway_messenger_held_events_total{outcome="held"|"routed"|"cancelled"}
/// Aliases come and go with reloads, so counters are made on first use (rare: once per alias
/// and outcome) and kept.
final class MessengerMetrics: Sendable {
    private let counters = NIOLockedValueBox<[String: Counter]>([:])

    enum Outcome: String {
        case sent, retried, refused
        case deadLetter = "dead_letter"
        /// Not sent because the recipient read it, opted out, or has no address.
        case skipped
    }

    func count(_ outcome: Outcome, messenger: String) {
        counter("gateway_messenger_deliveries_total", [("messenger", messenger), ("outcome", outcome.rawValue)]).increment()
    }

    func held(_ outcome: String) {
        counter("gateway_messenger_held_events_total", [("outcome", outcome)]).increment()
    }

    private func counter(_ label: String, _ dimensions: [(String, String)]) -> Counter {
        let key = label + dimensions.map { "|\($0.0)=\($0.1)" }.joined()
        return counters.withLockedValue { table in
            if let existing = table[key] { return existing }
            let made = Counter(label: label, dimensions: dimensions)
            table[key] = made
            return made
        }
    }
}
