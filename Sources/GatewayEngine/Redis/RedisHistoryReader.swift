import Foundation
import GatewayCore
import GatewayRedis

/// Reads the shared history: each target principal has a stream of its last
/// `history.per_recipient` events under stream ids `<sequence>-0`. A reader holding several
/// principals reads each stream (one pipelined batch) and merges by sequence; an event addressed
/// to two of its principals counts once.
///
/// "After event L" means *published after* L: a connection receives events in sequence order,
/// so a client whose last event was L has seen everything for it up to L's sequence number. Ids
/// are not used for this, because two nodes may take ids 5 and 6 and publish 6 first.
extension RedisEngine {
    /// Events published after event `id` for any of `principals` on `host`, not sent by
    /// `excludingSender`, oldest first, at most `limit`: what a client resuming with `?last_id=`
    /// missed. When event `id` is no longer in any of the streams, every kept event with a
    /// greater id counts as missed. Blocks for one round trip.
    public func history(after id: Int64, principals: [String], host: String, excludingSender: String,
                        limit: Int) throws(GatewayError) -> [RedisEnvelope] {
        let kept = try read(principals)
        let after: [RedisEnvelope]
        if let last = kept.first(where: { $0.id == id }) {
            after = kept.filter { $0.sequence > last.sequence }
        } else {
            after = kept.filter { $0.id > id }
        }
        return Array(after.filter { $0.host == host && $0.sender != excludingSender }.prefix(limit))
    }

    /// The newest events for any of `principals` on `host`, not sent by `excludingSender`, newest
    /// first, at most `limit`; with `sinceTimestamp` only those strictly later (as instants).
    public func recent(principals: [String], host: String, excludingSender: String, sinceTimestamp: String?,
                       limit: Int) throws(GatewayError) -> [RedisEnvelope] {
        let since = sinceTimestamp.flatMap(InstantParser.seconds)
        let newestFirst = try read(principals).reversed().filter { $0.host == host && $0.sender != excludingSender }
        let later = newestFirst.filter { event in
            guard let since else { return true }
            guard let instant = InstantParser.seconds(event.timestamp) else { return false }
            return instant > since
        }
        return Array(later.prefix(limit))
    }

    /// Every kept event of these principals' streams, once each, in sequence order.
    private func read(_ principals: [String]) throws(GatewayError) -> [RedisEnvelope] {
        var seen = Set<String>()
        let streams = principals.filter { seen.insert($0).inserted }.map(keys.history)
        guard !streams.isEmpty else { return [] }
        let count = String(settings.historyPerPrincipal).bytes
        let replies: [RedisReply]
        switch commands.sendAndWait(streams.map { ["XRANGE".bytes, $0.bytes, "-".bytes, "+".bytes, "COUNT".bytes, count] }) {
        case .success(let value): replies = value
        case .failure(let error):
            throw GatewayError(code: "history.unavailable",
                               message: "History could not be read: Redis is unavailable (\(error.message)). Retry shortly.", status: 503)
        }
        var bySequence: [Int64: RedisEnvelope] = [:]
        for reply in replies {
            guard case .array(let entries) = reply else { continue }   // an error: the key is not a stream
            for entry in entries {
                guard case .array(let parts) = entry, parts.count == 2, case .array(let fields) = parts[1],
                      fields.count >= 2, case .string(let message) = fields[1],
                      let envelope = try? RedisEnvelope.decode(message) else { continue }
                bySequence[envelope.sequence] = envelope
            }
        }
        return bySequence.values.sorted { $0.sequence < $1.sequence }
    }
}

/// ISO 8601 timestamps as seconds since 1970, so "…Z" and "+00:00" forms compare as instants.
enum InstantParser {
    static func seconds(_ text: String) -> Double? {
        let withFraction = ISO8601DateFormatter()
        withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = withFraction.date(from: text) { return date.timeIntervalSince1970 }
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        return plain.date(from: text)?.timeIntervalSince1970
    }
}
